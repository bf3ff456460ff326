{{/* Objects shared by the two inference profiles: (list $ "inference-cpu" .Values.inferenceCpu) */}}

{{- define "chatstack.inference.service" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}
# Headless: Envoy's internal listener balances chat's calls over every ready pod.
apiVersion: v1
kind: Service
metadata:
  name: {{ include "chatstack.componentName" (list $root $component) }}
  labels:
    {{- include "chatstack.componentLabels" (list $root $component) | nindent 4 }}
spec:
  clusterIP: None
  selector:
    {{- include "chatstack.selectorLabels" (list $root $component) | nindent 4 }}
  ports:
    - {name: grpc, port: 50052, targetPort: grpc, protocol: TCP, appProtocol: grpc}
    - {name: metrics, port: {{ $root.Values.ports.metrics }}, targetPort: metrics, protocol: TCP}
{{- end }}

{{- define "chatstack.inference.pdb" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}{{- $c := index . 2 }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "chatstack.componentName" (list $root $component) }}
  labels:
    {{- include "chatstack.componentLabels" (list $root $component) | nindent 4 }}
spec:
  maxUnavailable: {{ $c.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "chatstack.selectorLabels" (list $root $component) | nindent 6 }}
{{- end }}

{{/* Scales on the Pods metric inference_queue_depth (requests waiting for an engine slot),
     served to the custom metrics API by prometheus-adapter (rule in the chart README). CPU is
     the wrong signal: a GPU pod is saturated with an idle CPU, a llama.cpp pod is busy at any
     load. */}}
{{- define "chatstack.inference.hpa" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}{{- $c := index . 2 }}
{{- $a := $c.autoscaling }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "chatstack.componentName" (list $root $component) }}
  labels:
    {{- include "chatstack.componentLabels" (list $root $component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "chatstack.componentName" (list $root $component) }}
  minReplicas: {{ $a.minReplicas }}
  maxReplicas: {{ $a.maxReplicas }}
  metrics:
    - type: Pods
      pods:
        metric:
          name: inference_queue_depth
        target:
          type: AverageValue
          averageValue: {{ $a.targetQueueDepth | quote }}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies:
        - {type: Pods, value: 2, periodSeconds: 60}
    scaleDown:
      stabilizationWindowSeconds: {{ $a.scaleDownStabilizationSeconds }}
      policies:
        - {type: Pods, value: 1, periodSeconds: 120}
{{- end }}

{{/* The KEDA alternative: KEDA queries Prometheus itself and drives an HPA of its own. */}}
{{- define "chatstack.inference.scaledObject" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}{{- $c := index . 2 }}
{{- $a := $c.autoscaling }}
{{- $name := include "chatstack.componentName" (list $root $component) }}
{{- $query := $a.keda.query | default (printf "sum(inference_queue_depth{namespace=%q, service=%q})" $root.Release.Namespace $name) }}
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ $name }}
  labels:
    {{- include "chatstack.componentLabels" (list $root $component) | nindent 4 }}
spec:
  scaleTargetRef:
    name: {{ $name }}
  minReplicaCount: {{ $a.minReplicas }}
  maxReplicaCount: {{ $a.maxReplicas }}
  pollingInterval: {{ $a.keda.pollingInterval }}
  cooldownPeriod: {{ $a.scaleDownStabilizationSeconds }}
  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleDown:
          stabilizationWindowSeconds: {{ $a.scaleDownStabilizationSeconds }}
          policies:
            - {type: Pods, value: 1, periodSeconds: 120}
  triggers:
    - type: prometheus
      metricType: AverageValue
      metadata:
        serverAddress: {{ $a.keda.serverAddress | quote }}
        query: {{ $query | quote }}
        threshold: {{ $a.targetQueueDepth | quote }}
{{- end }}
