import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ConfigError, ENV_NAMES, parseConfig, SERVE_REQUIRES } from '../../src/config.ts';

const DIR = new URL('../../manifests/kubernetes/', import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are checked field by field below.
type K8sObject = Record<string, any>;

function load(file: string): K8sObject[] {
  const docs = parseAllDocuments(readFileSync(new URL(file, DIR), 'utf8'));
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  return docs.map((doc) => doc.toJS() as K8sObject).filter((obj) => obj !== null);
}

const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const objects = FILES.flatMap((file) => load(file).map((obj) => ({ file, obj })));
const one = (kind: string) => {
  const found = objects.filter(({ obj }) => obj.kind === kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0].obj;
};

const deployment = one('Deployment');
const service = one('Service');
const configMap = one('ConfigMap');
const secret = one('Secret');
const container = deployment.spec.template.spec.containers[0];

describe('manifests/kubernetes', () => {
  it('holds the four expected objects, each a parseable YAML document with a kind and a name', () => {
    expect(FILES.sort()).toEqual(['configmap.yaml', 'deployment.yaml', 'secret.example.yaml', 'service.yaml']);
    expect(objects.map(({ obj }) => obj.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Secret', 'Service']);
    for (const { obj } of objects) {
      expect(obj.apiVersion).toEqual(expect.any(String));
      expect(obj.metadata.name).toEqual(expect.any(String));
    }
  });

  it('references only environment variables the configuration knows', () => {
    const names = [
      ...Object.keys(configMap.data),
      ...Object.keys(secret.stringData),
      ...(container.env ?? []).map((e: { name: string }) => e.name),
    ];
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(ENV_NAMES, `${name} is not read by src/config.ts`).toContain(name);
  });

  it('feeds the container from exactly this ConfigMap and Secret', () => {
    expect(container.envFrom).toEqual([
      { configMapRef: { name: configMap.metadata.name } },
      { secretRef: { name: secret.metadata.name } },
    ]);
  });

  it('holds every secret serve requires in the Secret, and nothing secret in the ConfigMap', () => {
    const secretKeys = Object.keys(secret.stringData);
    for (const name of SERVE_REQUIRES.filter((n) => n !== 'AZURE_CLIENT_ID')) expect(secretKeys).toContain(name);
    expect(secretKeys).toContain('DATABASE_URL');
    expect(Object.keys(configMap.data)).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/SECRET|TOKEN|KEY|DATABASE_URL|MONGODB_URL/)]),
    );
  });

  it('runs two replicas with liveness on /healthz and readiness on /readyz, on the container port', () => {
    expect(deployment.spec.replicas).toBe(2);
    const port = container.ports.find((p: { name: string }) => p.name === 'http');
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect(container[probe].httpGet.port, probe).toBe('http');
    }
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(port).toBeDefined();
  });

  it('listens where the configuration says: containerPort equals the configured PORT', () => {
    const config = parseConfig(configMap.data);
    expect(config.port).toBe(3000);
    expect(container.ports.find((p: { name: string }) => p.name === 'http').containerPort).toBe(config.port);
  });

  it('scrapes /metrics on METRICS_PORT, a container port the Service does not publish', () => {
    const config = parseConfig(configMap.data);
    expect(config.metricsPort).toBe(9464);
    expect(container.ports.find((p: { name: string }) => p.name === 'metrics').containerPort).toBe(config.metricsPort);
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(config.metricsPort));
    expect(service.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['http']);
  });

  it('gives Entra the same callback the ConfigMap public address implies', () => {
    const config = parseConfig(configMap.data);
    const azure = JSON.parse(
      readFileSync(new URL('../../manifests/azure-app-registration.json', import.meta.url), 'utf8'),
    );
    expect(azure.web.redirectUris).toContain(`${config.publicUrl}/azure/callback`);
  });

  it('routes the Service to the pods and to the named container port', () => {
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(service.spec.ports[0].targetPort).toBe('http');
  });

  it('runs as a non-root user without privilege escalation, on a read-only root filesystem', () => {
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const tmp = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toBeDefined();
    expect(container.resources.limits.memory).toEqual(expect.any(String));
  });

  it('ships only placeholders in the Secret template, and an unedited copy stops the app at start', () => {
    for (const [key, value] of Object.entries(secret.stringData)) expect(['', 'REPLACE_ME'], key).toContain(value);
    const text = readFileSync(new URL('secret.example.yaml', DIR), 'utf8');
    expect(text).not.toMatch(/xox[abp]-\d|xapp-\d|[A-Za-z0-9+/]{43}=|postgres(ql)?:\/\/[^\s:]+:[^\s@]+@/);

    let error: unknown;
    try {
      parseConfig({ ...configMap.data, ...secret.stringData }, SERVE_REQUIRES);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const wrong = (error as ConfigError).problems.map((p) => p.split(' ')[0]).sort();
    expect(wrong).toEqual([
      'AZURE_CLIENT_ID',
      'AZURE_CLIENT_SECRET',
      'DATABASE_URL',
      'ENCRYPTION_KEY',
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
    ]);
  });
});
