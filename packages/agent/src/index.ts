export { Agent } from "./agent.js";
export { createExporters, exporterOptions } from "./agent-exporters.js";
export { ProcessWatcher } from "./discovery/process-watcher.js";
export type { SelectedProcess, ProcessWatcherOptions } from "./discovery/process-watcher.js";
export { HttpPipeline } from "./pipeline/http-pipeline.js";
export type { SpanSink, Router, PipelineCounts } from "./pipeline/http-pipeline.js";
export { ServiceRegistry } from "./pipeline/service-registry.js";
export { Logger } from "./logger.js";
export type { RequestSpan, ServiceIdentity, SpanKind } from "./request-span.js";
