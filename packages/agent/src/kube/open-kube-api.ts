/**
 * The agent's connection to the API server: plain REST (rest-kube-client.ts) whenever the
 * credentials allow it, @kubernetes/client-node (kube-client.ts, loaded only then) otherwise.
 */
import type { TokenReviewFn } from "@beyla-ts/shared";
import { findKubeConfigSource, type KubeEnvironment } from "./kube-config-source.js";
import { kubeConnection, NEEDS_CLIENT_LIBRARY } from "./kube-connection.js";
import { type KubeApi, RestKubeClient } from "./rest-kube-client.js";

export interface OpenedKubeApi {
  api: KubeApi;
  server: string;
  /** Which kubeconfig file, or "in-cluster service account". */
  source: string;
  /** TokenReviews through the same connection. */
  tokenReview(audiences?: readonly string[]): TokenReviewFn;
}

/**
 * Undefined when the environment has no API configuration at all; throws, naming the file,
 * on a malformed kubeconfig.
 */
export async function openKubeApi(env: KubeEnvironment): Promise<OpenedKubeApi | undefined> {
  const source = findKubeConfigSource(env);
  if (!source) return undefined;
  const connection = kubeConnection(source);
  if (connection !== NEEDS_CLIENT_LIBRARY) {
    const client = new RestKubeClient(connection);
    return {
      api: client,
      server: connection.server,
      source: connection.source,
      tokenReview: (audiences) => client.tokenReview(audiences),
    };
  }
  const { KubeClient, loadKubeConfig } = await import("./kube-client.js");
  const { kubeTokenReview } = await import("../control/token-review.js");
  const loaded = loadKubeConfig(env);
  if (!loaded) return undefined;
  return {
    api: new KubeClient(loaded.config),
    server: loaded.server,
    source: loaded.source,
    tokenReview: (audiences) => kubeTokenReview(loaded.config, audiences),
  };
}
