// The Kubernetes APIs guard-service calls besides the Guardian stores: TokenReview and
// SubjectAccessReview (who is calling, may they), pods (a gate's service, its restart), Leases
// (replicas dividing the services) and Events (alerts). Every
// call is bounded by a timeout; client-node 1.4.0 has none of its own.
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  ServerConfiguration,
  createConfiguration,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { inClusterKubeConfig } from '../store/kube.js';

export interface KubeAccess {
  readonly kubeConfig: KubeConfig;
  readonly authentication: AuthenticationV1Api;
  readonly authorization: AuthorizationV1Api;
  readonly core: CoreV1Api;
  /** Leases: which replica serves which shard of services (service/shard-leases.ts). */
  readonly coordination: CoordinationV1Api;
}

/**
 * The kubeconfig guard-service uses: the pod's service account in a cluster, else the default
 * kubeconfig (KUBECONFIG or ~/.kube/config). Throws when neither names a cluster.
 */
export function defaultKubeConfig(inCluster: boolean): KubeConfig {
  if (inCluster) return inClusterKubeConfig();
  const config = new KubeConfig();
  config.loadFromDefault();
  if (!config.getCurrentCluster()) throw new Error('no Kubernetes cluster: not in a pod, and no KUBECONFIG or ~/.kube/config names one');
  return config;
}

export function kubeAccess(kubeConfig: KubeConfig, timeoutMs = 10_000): KubeAccess {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [
      {
        pre: async (context: RequestContext) => {
          context.setSignal(AbortSignal.timeout(timeoutMs));
          return context;
        },
        post: async (context: ResponseContext) => context,
      },
    ],
  });
  return {
    kubeConfig,
    authentication: new AuthenticationV1Api(configuration),
    authorization: new AuthorizationV1Api(configuration),
    core: new CoreV1Api(configuration),
    coordination: new CoordinationV1Api(configuration),
  };
}
