{{/* Names, labels and shared pod pieces. */}}

{{- define "chatstack.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name; components append -<component> (kept under 63 characters). */}}
{{- define "chatstack.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* (list $ "component") -> <fullname>-<component> */}}
{{- define "chatstack.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "chatstack.fullname" $root) (index . 1) }}
{{- end }}

{{/* (list $ "component") -> the component's Service FQDN (what Envoy resolves). */}}
{{- define "chatstack.serviceHost" -}}
{{- $root := index . 0 -}}
{{- printf "%s.%s.svc.%s" (include "chatstack.componentName" .) $root.Release.Namespace $root.Values.clusterDomain }}
{{- end }}

{{/* The inference pool behind Envoy's internal listener: the GPU profile when enabled. */}}
{{- define "chatstack.inference.component" -}}
{{- if .Values.inferenceGpu.enabled }}inference-gpu
{{- else if .Values.inferenceCpu.enabled }}inference-cpu
{{- else }}{{ fail "enable inferenceCpu or inferenceGpu: the chat service needs a model" }}
{{- end }}
{{- end }}

{{- define "chatstack.inference.serviceHost" -}}
{{- include "chatstack.serviceHost" (list . (include "chatstack.inference.component" .)) }}
{{- end }}

{{- define "chatstack.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "chatstack.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: chatstack
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* (list $ "component") */}}
{{- define "chatstack.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "chatstack.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* (list $ "component") */}}
{{- define "chatstack.componentLabels" -}}
{{ include "chatstack.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "chatstack.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "chatstack.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* (list $ .Values.<component>.image) -> repository:tag, the tag defaulting to appVersion. */}}
{{- define "chatstack.image" -}}
{{- $root := index . 0 -}}
{{- $image := index . 1 -}}
{{- $tag := default $root.Chart.AppVersion $image.tag | toString -}}
{{- if or (eq $tag "latest") (eq $tag "") }}
{{- fail (printf "image %s: pin a version tag (got %q)" $image.repository $tag) }}
{{- end }}
{{- if $image.digest }}
{{- printf "%s:%s@%s" $image.repository $tag $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository $tag }}
{{- end }}
{{- end }}

{{/* Settings every Python service reads (server_kit.config.ServerSettings):
     (list $ "PREFIX" grpcPort) */}}
{{- define "chatstack.serverEnv" -}}
{{- $root := index . 0 -}}
{{- $prefix := index . 1 -}}
- name: {{ $prefix }}_HOST
  value: "0.0.0.0"
- name: {{ $prefix }}_PORT
  value: {{ index . 2 | quote }}
- name: {{ $prefix }}_METRICS_HOST
  value: "0.0.0.0"
- name: {{ $prefix }}_METRICS_PORT
  value: {{ $root.Values.ports.metrics | quote }}
- name: {{ $prefix }}_LOG_FORMAT
  value: {{ $root.Values.logging.format | quote }}
- name: {{ $prefix }}_LOG_LEVEL
  value: {{ $root.Values.logging.level | quote }}
- name: {{ $prefix }}_SHUTDOWN_GRACE_S
  value: {{ index . 3 | quote }}
# A read-only root filesystem: caches and temporary files go to the /tmp emptyDir.
- name: HOME
  value: /tmp
- name: HF_HUB_OFFLINE
  value: "1"
- name: TRANSFORMERS_OFFLINE
  value: "1"
{{- end }}

{{/* gRPC probes on the service port (the standard grpc.health.v1 service, server-wide ""):
     (list grpcPort .Values.<component>.probes) */}}
{{- define "chatstack.grpcProbes" -}}
{{- $port := index . 0 -}}
{{- $probes := index . 1 -}}
startupProbe:
  grpc:
    port: {{ $port }}
  periodSeconds: {{ $probes.startup.periodSeconds }}
  failureThreshold: {{ $probes.startup.failureThreshold }}
  timeoutSeconds: 2
readinessProbe:
  grpc:
    port: {{ $port }}
  periodSeconds: {{ $probes.readiness.periodSeconds }}
  failureThreshold: {{ $probes.readiness.failureThreshold }}
  timeoutSeconds: 2
livenessProbe:
  grpc:
    port: {{ $port }}
  periodSeconds: {{ $probes.liveness.periodSeconds }}
  failureThreshold: {{ $probes.liveness.failureThreshold }}
  timeoutSeconds: {{ $probes.liveness.timeoutSeconds }}
{{- end }}

{{/* Scheduling, shared by every Deployment: (list $ .Values.<component>) */}}
{{- define "chatstack.podScheduling" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}

{{/* The JWKS URI's host and port, for the remote JWKS cluster in files/envoy.yaml. */}}
{{- define "chatstack.envoy.jwksHost" -}}
{{- (urlParse .Values.envoy.jwt.jwksUri).host | regexFind "^[^:]+" }}
{{- end }}

{{- define "chatstack.envoy.jwksPort" -}}
{{- $host := (urlParse .Values.envoy.jwt.jwksUri).host }}
{{- if regexMatch ":[0-9]+$" $host }}{{ regexFind "[0-9]+$" $host }}{{ else }}443{{ end }}
{{- end }}

{{/* Cassandra contact points: the values, or the bundled chart's Service. */}}
{{- define "chatstack.cassandra.contactPoints" -}}
{{- if .Values.cassandra.enabled }}
{{- printf "%s-cassandra.%s.svc.%s" .Release.Name .Release.Namespace .Values.clusterDomain }}
{{- else }}
{{- join "," .Values.store.cassandra.contactPoints }}
{{- end }}
{{- end }}

{{- define "chatstack.cassandra.secretName" -}}
{{- if .Values.store.cassandra.existingSecret }}
{{- .Values.store.cassandra.existingSecret }}
{{- else if .Values.cassandra.enabled }}
{{- printf "%s-cassandra" .Release.Name }}
{{- end }}
{{- end }}

{{/* The Milvus URI of the semantic cache: the value, or the bundled chart's Service. */}}
{{- define "chatstack.cache.uri" -}}
{{- if .Values.cache.milvusUri }}
{{- .Values.cache.milvusUri }}
{{- else if .Values.milvus.enabled }}
{{- printf "http://%s-milvus.%s.svc.%s:19530" .Release.Name .Release.Namespace .Values.clusterDomain }}
{{- else }}
{{- fail "cache.enabled needs cache.milvusUri (a Milvus server) or milvus.enabled" }}
{{- end }}
{{- end }}

{{/* The NATS URL of the job queue: the value, or the bundled chart's client Service (named
     like the nats chart's fullname: nats.fullnameOverride, else <release>-nats, or <release>
     when the release name contains "nats"); empty: no queue (the chat service then runs that
     work in process). */}}
{{- define "chatstack.queue.url" -}}
{{- if .Values.queue.url }}
{{- .Values.queue.url }}
{{- else if .Values.nats.enabled }}
{{- $service := printf "%s-nats" .Release.Name }}
{{- if .Values.nats.fullnameOverride }}
{{- $service = .Values.nats.fullnameOverride }}
{{- else if contains "nats" .Release.Name }}
{{- $service = .Release.Name }}
{{- end }}
{{- printf "nats://%s.%s.svc.%s:4222" ($service | trunc 63 | trimSuffix "-") .Release.Namespace .Values.clusterDomain }}
{{- end }}
{{- end }}

{{/* NetworkPolicy ingress rule for a metrics port: (list $ portName) */}}
{{- define "chatstack.metricsIngress" -}}
{{- $root := index . 0 -}}
- ports:
    - {port: {{ index . 1 }}, protocol: TCP}
  {{- with $root.Values.networkPolicy.metricsFrom }}
  from:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* The service token (docs/security.md): inference and embedding serve only callers that
send it; the chat service sends it. (list $ "ENV_NAME") -> the env var pointing at its file. */}}
{{- define "chatstack.serviceTokenEnv" -}}
- name: {{ index . 1 }}
  value: /etc/chatstack/service-token/token
{{- end }}

{{- define "chatstack.serviceTokenMount" -}}
- {name: service-token, mountPath: /etc/chatstack/service-token, readOnly: true}
{{- end }}

{{- define "chatstack.serviceTokenVolume" -}}
- name: service-token
  secret:
    secretName: {{ required "serviceToken.existingSecret: the Secret holding the service token" .Values.serviceToken.existingSecret }}
    items:
      - {key: token, path: token}
{{- end }}
