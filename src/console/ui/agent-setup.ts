import type { AgentEndpoint } from "./api.js";

/** Where the snippets have parca-agent read its token. */
export const TOKEN_FILE = "/var/profgate/token";

/** What the snippets show where the token goes when there is none to fill in. */
export const TOKEN_PLACEHOLDER = "<paste the psc_v1_ token>";

/**
 * The parca-agent command line that pushes to this gateway, for `projectId`; with `token`, it is
 * first written to the token file, readable by its owner only.
 */
export function agentCommand(endpoint: AgentEndpoint, projectId: string, token?: string): string {
  const dir = TOKEN_FILE.slice(0, TOKEN_FILE.lastIndexOf("/"));
  const save = token
    ? `mkdir -p ${dir} && (umask 077 && printf '%s' '${token}' > ${TOKEN_FILE})\n`
    : `# Save the token in ${TOKEN_FILE} (mode 0600) first.\n`;
  return (
    save +
    [
      "parca-agent",
      `--remote-store-address=${endpoint.address}`,
      ...(endpoint.tls ? [] : ["--remote-store-insecure"]),
      `--remote-store-bearer-token-file=${TOKEN_FILE}`,
      `--remote-store-grpc-headers=projectID=${projectId}`,
    ].join(" \\\n  ")
  );
}

/** A Kubernetes namespace, Secret (the token, or a placeholder) and DaemonSet running parca-agent on every node. */
export function kubernetesManifest(endpoint: AgentEndpoint, projectId: string, token?: string): string {
  const args = [
    "--node=$(NODE_NAME)",
    `--remote-store-address=${endpoint.address}`,
    ...(endpoint.tls ? [] : ["--remote-store-insecure"]),
    `--remote-store-bearer-token-file=${TOKEN_FILE}`,
    `--remote-store-grpc-headers=projectID=${projectId}`,
  ];
  const hostPaths: Array<[string, string]> = [
    ["run", "/run"],
    ["boot", "/boot"],
    ["modules", "/lib/modules"],
    ["debugfs", "/sys/kernel/debug"],
    ["cgroup", "/sys/fs/cgroup"],
    ["bpffs", "/sys/fs/bpf"],
  ];
  return `apiVersion: v1
kind: Namespace
metadata:
  name: parca-agent
  labels:
    # The agent runs privileged, with the host's PID namespace.
    pod-security.kubernetes.io/enforce: privileged
---
apiVersion: v1
kind: Secret
metadata:
  name: parca-agent-token
  namespace: parca-agent
type: Opaque
stringData:
  # A token of a service account bound writer (or profile-writer) on this project.
  token: "${token ?? TOKEN_PLACEHOLDER}"
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: parca-agent
  namespace: parca-agent
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: parca-agent
  template:
    metadata:
      labels:
        app.kubernetes.io/name: parca-agent
    spec:
      hostPID: true
      containers:
        - name: parca-agent
          image: ghcr.io/parca-dev/parca-agent:v0.46.0
          args:
${args.map((a) => `            - ${a}`).join("\n")}
          env:
            - name: NODE_NAME
              valueFrom:
                fieldRef:
                  fieldPath: spec.nodeName
          securityContext:
            privileged: true
          volumeMounts:
            - name: token
              mountPath: ${TOKEN_FILE.slice(0, TOKEN_FILE.lastIndexOf("/"))}
              readOnly: true
${hostPaths.map(([name, path]) => `            - name: ${name}\n              mountPath: ${path}`).join("\n")}
      volumes:
        - name: token
          secret:
            secretName: parca-agent-token
            defaultMode: 0400
${hostPaths.map(([name, path]) => `        - name: ${name}\n          hostPath:\n            path: ${path}`).join("\n")}
`;
}
