{{/*
Names. "beyla.fullname" prefixes every object: the release name when it already holds the
chart name (release "beyla" -> "beyla-agent", "beyla-operator"), else "<release>-<chart>".
*/}}
{{- define "beyla.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "beyla.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "beyla.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "beyla.agent.fullname" -}}
{{- printf "%s-agent" (include "beyla.fullname" .) -}}
{{- end -}}

{{- define "beyla.operator.fullname" -}}
{{- printf "%s-operator" (include "beyla.fullname" .) -}}
{{- end -}}

{{/* Labels of every object; "component" (agent, operator) is added by the callers below. */}}
{{- define "beyla.labels" -}}
helm.sh/chart: {{ include "beyla.chart" . }}
app.kubernetes.io/name: {{ include "beyla.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: beyla
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "beyla.agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "beyla.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent
{{- end -}}

{{- define "beyla.operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "beyla.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "beyla.agent.labels" -}}
{{ include "beyla.labels" . }}
app.kubernetes.io/component: agent
{{- end -}}

{{- define "beyla.operator.labels" -}}
{{ include "beyla.labels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The agents' label selector as text, for the operator's pod watch. */}}
{{- define "beyla.agent.selectorString" -}}
{{- printf "app.kubernetes.io/name=%s,app.kubernetes.io/instance=%s,app.kubernetes.io/component=agent" (include "beyla.name" .) .Release.Name -}}
{{- end -}}

{{- define "beyla.agent.serviceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (include "beyla.agent.fullname" .) .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- required "agent.serviceAccount.name is required when agent.serviceAccount.create is false" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "beyla.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (include "beyla.operator.fullname" .) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- required "operator.serviceAccount.name is required when operator.serviceAccount.create is false" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Kubernetes user name of a ServiceAccount token, as a TokenReview reports it. */}}
{{- define "beyla.operator.username" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "beyla.operator.serviceAccountName" .) -}}
{{- end -}}

{{- define "beyla.agent.username" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "beyla.agent.serviceAccountName" .) -}}
{{- end -}}

{{- define "beyla.operator.leaseName" -}}
{{- default (include "beyla.operator.fullname" .) .Values.operator.leaderElection.leaseName -}}
{{- end -}}

{{/* "" when the agent runs without a priority class. */}}
{{- define "beyla.agent.priorityClassName" -}}
{{- if .Values.agent.priorityClass.create -}}
{{- default (include "beyla.agent.fullname" .) .Values.agent.priorityClass.name -}}
{{- else -}}
{{- .Values.agent.priorityClass.name -}}
{{- end -}}
{{- end -}}

{{/* image: repository:tag, or repository@digest when a digest is set. Arguments: the image values, the chart. */}}
{{- define "beyla.image" -}}
{{- $image := index . 0 -}}
{{- $chart := index . 1 -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (default $chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The agent's capabilities: the fixed eBPF set, SYS_ADMIN only on request. */}}
{{- define "beyla.agent.capabilities" -}}
- BPF
- PERFMON
- SYS_PTRACE
- DAC_READ_SEARCH
- CHECKPOINT_RESTORE
- NET_RAW
{{- if .Values.agent.sysAdmin }}
- SYS_ADMIN
{{- end }}
{{- end -}}

{{- define "beyla.agent.metricsPort" -}}
{{- .Values.agent.config.prometheus_export.port -}}
{{- end -}}

{{- define "beyla.agent.metricsPath" -}}
{{- default "/metrics" .Values.agent.config.prometheus_export.path -}}
{{- end -}}

{{/* Whether to render the ServiceMonitors: asked for, and the API is served (or forced). */}}
{{- define "beyla.serviceMonitor.enabled" -}}
{{- if and .Values.serviceMonitor.enabled (or .Values.serviceMonitor.force (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) -}}
true
{{- end -}}
{{- end -}}

{{/*
Volumes of the control channel, in both Pods: a projected ServiceAccount token bound to the
control audience (presented to the other side, checked there with a TokenReview), and the TLS
Secret when there is one.
*/}}
{{- define "beyla.controlVolumes" -}}
- name: control-token
  projected:
    sources:
      - serviceAccountToken:
          path: token
          audience: {{ .Values.control.audience }}
          expirationSeconds: 3600
{{- if .Values.control.tls.secretName }}
- name: control-tls
  secret:
    secretName: {{ .Values.control.tls.secretName }}
{{- end }}
{{- end -}}
