{{/* The release's name for objects, at most 63 characters. */}}
{{- define "switchboard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "switchboard.labels" -}}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The host image: by digest when one is given. */}}
{{- define "switchboard.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Where plugins are, in the pod. */}}
{{- define "switchboard.pluginDir" -}}/var/lib/switchboard/plugins{{- end -}}
{{- define "switchboard.builtinDir" -}}/usr/local/lib/switchboard/plugins{{- end -}}
{{- define "switchboard.secretsDir" -}}/run/secrets/switchboard{{- end -}}

{{/* "imageVolume" or "initCopy", from pluginSource and the cluster's version. */}}
{{- define "switchboard.pluginSource" -}}
{{- if eq .Values.pluginSource "auto" -}}
{{- if semverCompare ">=1.35.0-0" .Capabilities.KubeVersion.Version -}}imageVolume{{- else -}}initCopy{{- end -}}
{{- else -}}
{{- .Values.pluginSource -}}
{{- end -}}
{{- end -}}

{{/* One plugin's image and the path of its binary in that image. */}}
{{- define "switchboard.pluginImage" -}}
{{- if .plugin.image -}}{{ .plugin.image }}{{- else -}}{{ include "switchboard.image" .root }}{{- end -}}
{{- end -}}
{{- define "switchboard.pluginPath" -}}
{{- if .plugin.image -}}{{ required (printf "plugins[%s].path: the binary's path in its image" .plugin.name) .plugin.path }}{{- else -}}{{ include "switchboard.builtinDir" .root }}/{{ .plugin.name }}{{- end -}}
{{- end -}}

{{/* The settings a running host cannot reload: a change to them rolls the pods. */}}
{{- define "switchboard.fixedConfig" -}}
listen                 = ":{{ .Values.containerPort }}"
{{- if .Values.metrics.enabled }}
metrics_listen         = ":{{ .Values.metrics.port }}"
{{- end }}
plugin_dir             = "{{ include "switchboard.pluginDir" . }}"
shutdown_delay         = "{{ .Values.shutdown.delaySeconds }}s"
shutdown_timeout       = "{{ .Values.shutdown.timeoutSeconds }}s"
log_format             = {{ .Values.logFormat | quote }}
{{- end -}}

{{/* The pod's grace period: every phase of the host's shutdown, in order. */}}
{{- define "switchboard.gracePeriod" -}}
{{- add .Values.shutdown.delaySeconds .Values.shutdown.timeoutSeconds .Values.shutdown.pluginStopSeconds -}}
{{- end -}}

{{/* The restricted container security context, for every container. */}}
{{- define "switchboard.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
