{{- define "backlog-bot.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "backlog-bot.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "backlog-bot.labels" -}}
app.kubernetes.io/name: {{ include "backlog-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "backlog-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "backlog-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "backlog-bot.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "backlog-bot.secretName" -}}
{{- .Values.existingSecret | default (include "backlog-bot.fullname" .) -}}
{{- end -}}

{{- define "backlog-bot.appKeySecret" -}}
{{- .Values.githubApp.privateKeySecret | default (printf "%s-github-app" (include "backlog-bot.fullname" .)) -}}
{{- end -}}

{{/* Environment shared by the service and the migration init container. */}}
{{- define "backlog-bot.env" -}}
- name: BACKLOG_BOT_CONFIG
  value: /etc/backlog-bot/backlog-bot.toml
- name: BACKLOG_FILE
  value: /etc/backlog-bot/backlog.md
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- range $name, $_ := .Values.secrets }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "backlog-bot.secretName" $ }}
      key: {{ $name }}
      optional: {{ ne $name "DATABASE_URL" }}
{{- end }}
{{- if .Values.githubApp.appId }}
- name: GITHUB_APP_ID
  value: {{ .Values.githubApp.appId | toString | quote }}
- name: GITHUB_APP_PRIVATE_KEY_FILE
  value: /etc/backlog-bot/github-app/private-key.pem
{{- if .Values.githubApp.installationId }}
- name: GITHUB_APP_INSTALLATION_ID
  value: {{ .Values.githubApp.installationId | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "backlog-bot.mounts" -}}
- name: config
  mountPath: /etc/backlog-bot/backlog-bot.toml
  subPath: backlog-bot.toml
  readOnly: true
- name: config
  mountPath: /etc/backlog-bot/backlog.md
  subPath: backlog.md
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.githubApp.appId }}
- name: github-app
  mountPath: /etc/backlog-bot/github-app
  readOnly: true
{{- end }}
{{- end -}}
