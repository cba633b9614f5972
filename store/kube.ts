// The Kubernetes side of store/: the Guardian CRD and ConfigMap stores and the client helpers they
// share. Importing this module loads the Kubernetes client: guard-service, which always talks to
// the API, imports it; the gate reaches it only through openGuardianStore (index.ts), in a cluster.
export { KubeCrdGuardianStore } from './kube-crd.js';
export { KubeConfigMapGuardianStore } from './kube-configmap.js';
export { httpStatus, inClusterKubeConfig } from './kube-client.js';
