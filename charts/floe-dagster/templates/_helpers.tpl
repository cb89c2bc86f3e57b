{{/* Names ------------------------------------------------------------------------------ */}}
{{- define "floe-dagster.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "floe-dagster.webserverName" -}}
{{- $root := index . 0 -}}{{- $readOnly := index . 1 -}}
{{- printf "%s-webserver%s" (include "floe-dagster.fullname" $root) (ternary "-read-only" "" $readOnly) -}}
{{- end -}}

{{- define "floe-dagster.serviceAccountName" -}}
{{- .Values.global.serviceAccountName | default .Values.serviceAccount.name | default (include "floe-dagster.fullname" .) -}}
{{- end -}}

{{- define "floe-dagster.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "floe-dagster.labels" -}}
{{ include "floe-dagster.selectorLabels" . }}
app.kubernetes.io/part-of: dagster
app.kubernetes.io/managed-by: {{ (index . 0).Release.Service }}
app.kubernetes.io/version: {{ (index . 0).Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" (index . 0).Chart.Name (index . 0).Chart.Version }}
{{- end -}}

{{/* An image reference; an empty tag means the chart's appVersion. [root image] */}}
{{- define "floe-dagster.image" -}}
{{- $root := index . 0 -}}{{- $image := index . 1 -}}
{{- printf "%s:%s" $image.repository (toString ($image.tag | default $root.Chart.AppVersion)) -}}
{{- end -}}

{{/* Security: Pod Security "restricted" is written here, not taken from values. Values may
     only choose the user and group; a value that contradicts the policy fails the render
     (the schema already refuses it; this covers --skip-schema-validation). */}}
{{- define "floe-dagster.checkSecure" -}}
{{- $where := index . 0 -}}{{- $given := index . 1 | default dict -}}
{{- range $key, $secure := dict "runAsNonRoot" true "allowPrivilegeEscalation" false "privileged" false "readOnlyRootFilesystem" true -}}
{{- if and (hasKey $given $key) (ne (toString (get $given $key)) (toString $secure)) -}}
{{- fail (printf "%s.%s must be %v: every pod meets Pod Security \"restricted\"" $where $key $secure) -}}
{{- end -}}
{{- end -}}
{{- with $given.capabilities }}{{ if or .add (not (has "ALL" (.drop | default list))) -}}
{{- fail (printf "%s.capabilities must drop ALL and add none" $where) -}}
{{- end }}{{ end -}}
{{- with $given.seccompProfile }}{{ if ne .type "RuntimeDefault" -}}
{{- fail (printf "%s.seccompProfile.type must be RuntimeDefault" $where) -}}
{{- end }}{{ end -}}
{{- end -}}

{{- define "floe-dagster.podSecurityContext" -}}
{{- $where := index . 0 -}}{{- $given := index . 1 | default dict -}}
{{- include "floe-dagster.checkSecure" (list $where $given) -}}
{{- $user := int ($given.runAsUser | default 1001) -}}
{{- if lt $user 1 }}{{ fail (printf "%s.runAsUser must not be 0 (root)" $where) }}{{ end -}}
runAsNonRoot: true
runAsUser: {{ $user }}
runAsGroup: {{ int ($given.runAsGroup | default 1001) }}
fsGroup: {{ int ($given.fsGroup | default 1001) }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "floe-dagster.securityContext" -}}
{{- include "floe-dagster.checkSecure" . -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* resources with requests and limits for cpu and memory, or a failed render. [where res] */}}
{{- define "floe-dagster.resources" -}}
{{- $where := index . 0 -}}{{- $res := index . 1 | default dict -}}
{{- range $part := list "requests" "limits" -}}
{{- range $kind := list "cpu" "memory" -}}
{{- if not (get (get $res $part | default dict) $kind) -}}
{{- fail (printf "%s.resources.%s.%s is required: every container has requests and limits" $where $part $kind) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml (pick $res "requests" "limits") -}}
{{- end -}}

{{/* Environment every Dagster process needs: DAGSTER_HOME, a writable HOME, the database
     password from the existing Secret (never a literal). */}}
{{- define "floe-dagster.env" -}}
- name: DAGSTER_HOME
  value: {{ .Values.global.dagsterHome | quote }}
- name: HOME
  value: /tmp
- name: DAGSTER_PG_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.global.postgresqlSecretName | quote }}
      key: {{ .Values.floe.postgresql.passwordSecretKey | quote }}
{{- end -}}

{{- define "floe-dagster.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name | quote }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{- define "floe-dagster.envFrom" -}}
{{- $workload := . -}}
{{- range $workload.envConfigMaps | default list }}
- configMapRef:
    name: {{ .name | quote }}
{{- end }}
{{- range $workload.envSecrets | default list }}
- secretRef:
    name: {{ .name | quote }}
{{- end }}
{{- end -}}

{{/* Writable paths on a read-only root filesystem: /tmp and DAGSTER_HOME are emptyDirs; the
     instance config is mounted into DAGSTER_HOME as one file. */}}
{{- define "floe-dagster.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: dagster-home
  mountPath: {{ .Values.global.dagsterHome | quote }}
- name: dagster-instance
  mountPath: {{ printf "%s/dagster.yaml" .Values.global.dagsterHome | quote }}
  subPath: dagster.yaml
  readOnly: true
{{- end -}}

{{- define "floe-dagster.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.floe.tmpVolumeSizeLimit | quote }}
- name: dagster-home
  emptyDir:
    sizeLimit: {{ .Values.floe.tmpVolumeSizeLimit | quote }}
- name: dagster-instance
  configMap:
    name: {{ include "floe-dagster.fullname" . }}-instance
{{- end -}}

{{- define "floe-dagster.probe" -}}
initialDelaySeconds: {{ .initialDelaySeconds | default 0 }}
periodSeconds: {{ .periodSeconds | default 20 }}
timeoutSeconds: {{ .timeoutSeconds | default 10 }}
failureThreshold: {{ .failureThreshold | default 3 }}
{{- end -}}

{{- define "floe-dagster.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
