// The help texts of the `guard` command. Kept apart from the subcommands so that `guard --help`
// and `guard <command> --help` load none of them (and none of their dependencies).
// learn and check analyse bodies up to the gate's own default limit (GUARD_MAX_BODY).
import { DEFAULT_MAX_BODY } from '../gate/config.js';
import { DEFAULT_LEARNING_CAPS } from '../core/portable.js';

const CAPS_HELP = `  --param-cap N    query, form and JSON body fields learned by name per table, 1–256
                   (default ${DEFAULT_LEARNING_CAPS.params}); beyond, the original's catch-all
  --header-cap N   header names learned by name per table, 1–256 (default ${DEFAULT_LEARNING_CAPS.headers})
  --route-cap N    routes (method + path template) in the route table, 0–1024 (default
                   ${DEFAULT_LEARNING_CAPS.routes}); beyond, a catch-all per method; 0: no route table
  --unknown-headers alert|shape
                   a header name not learned alerts (alert, default), or passes when it fits the
                   shape of all learned headers (shape)`;

const POLICY_HELP = `  --unknown-route alert|ignore|service-wide
  --unknown-param alert|ignore|service-wide
  --slack N        decide with these route policies and this slack (0–16 steps on learned
                   limits) instead of the Guardian's control`;

export const USAGE = `Usage: guard <command> [options]

Commands:
  gate      run guard-gate, the sidecar in front of a service (configured by env)
  service   run guard-service, the learner and Guardian store
  learn     learn a Guardian from traffic files
  check     decide traffic records against a Guardian
  demo      a self-contained local demonstration
  inject    add guard-gate to Kubernetes / Knative YAML (or take it out: --uninject)
  webhook   run guard-webhook, the admission webhook that injects guard-gate

Run \`guard <command> --help\` for the options of a command.
`;

export const LEARN_HELP = `Usage: guard learn --in TRAFFIC [--in TRAFFIC…] [--out guardian.json] [caps]

Learns a Guardian from recorded traffic exactly as guard-service would from the same sessions (and
the same caps), and writes its GuardianSpec (learned rules and route table, the caps it was
learned with, samples, control.auto on) as JSON.

Options:
  --in FILE        traffic: JSON Lines (one record a line), optionally gzip-compressed (.gz), or a
                   HAR file (.har); repeat for several files
  --out FILE       write the Guardian to FILE (atomically) instead of standard output
  --max-body N     bodies over N bytes are not analysed but recorded as TooLargeBody, as the gate
                   does (default ${DEFAULT_MAX_BODY})
${CAPS_HELP}
  -h, --help       show this help

A traffic record (one JSON line):
  {"method":"GET","path":"/shop/item","query":"id=2","headers":[["Host","shop"],["Accept","*/*"]],
   "body":"", "remote":"203.0.113.7", "response":{"status":200,"headers":[…],"body":"…"}}

Malformed records are reported on stderr with file:line and skipped. Exit status: 0 done, 1 a
file could not be read or written, 2 usage error.
`;

export const CHECK_HELP = `Usage: guard check --guardian GUARDIAN --in TRAFFIC [--out decisions.jsonl]

Decides every traffic record against a Guardian (learned or configured rules, as control.auto
selects) and writes one JSON line per record, in order:
  {"allowed":true,"result":0,"decision":""}
  {"allowed":false,"result":2,"decision":"<sorted decision string>"}
  {"error":"<file:line>: <why the record is malformed>"}

Options:
  --guardian FILE  a GuardianSpec or a whole Guardian object (JSON), e.g. the output of guard learn
  --in FILE        traffic: JSON Lines, optionally gzip-compressed (.gz), or HAR (.har); may be
                   repeated, the files are read in order
  --out FILE       write the decisions to FILE instead of standard output
  --max-body N     bodies over N bytes are not analysed but recorded as TooLargeBody (default ${DEFAULT_MAX_BODY})
${POLICY_HELP}
  -h, --help       show this help

A decision names what failed, down to the route and the parameter, e.g.
  [Req:[Route GET /items/{id}:[Query parameter debug is not known on this route,],],]

Exit status: 0 done (whatever the decisions), 1 a file could not be read or written, 2 usage error.
`;

export const GATE_HELP = `Usage: guard gate

Runs guard-gate, the sidecar in front of one service: it profiles every request and response,
decides them against the service's Guardian, alerts or blocks, and syncs what it saw with
guard-service. Configured by the environment (names of the original kept):

  SERVICE_NAME, NAMESPACE      the protected service (required)
  PROTECTED_SERVICE            where requests go: a URL, or :PORT on 127.0.0.1 (default
                               http://127.0.0.1:8080)
  PORT                         the gate's port (default 22000)
  GUARD_SERVICE_URL            guard-service's base URL (default
                               https://guard-service.knative-serving; none: no sync, Guardians
                               from Kubernetes or GUARDIAN_FILE)
  USE_CRD                      Guardian CRDs (true, default) or ConfigMaps (false)
  MONITOR_POD                  watch the pod's peers in /proc/net (default true)
  ANALYZE_BODY                 profile request bodies of every type, and JSON, form and text
                               response bodies (default true)
  GUARDIAN_SYNC_INTERVAL       seconds between syncs, or a Go duration (default 60)
  POD_MONITOR_INTERVAL         seconds between pod samples, or a Go duration (default 5)
  LOG_LEVEL                    pino level (default info)
  GUARDIAN_FILE                a Guardian to use without a cluster
  GUARD_ADMIN_PORT             /healthz, /readyz, /metrics (default 22001)
  GUARD_MAX_BODY               largest body analysed and WebSocket message relayed, in bytes
                               (default 1048576); a compressed body is held to it before and
                               after decoding
  GUARD_BLOCK_STATUS           status of block answers (default 403)
  GUARD_OVERSIZE               a request body over GUARD_MAX_BODY: decide (default: the fault
                               TooLargeBody is decided; streamed uninspected when allowed) or
                               refuse (413)
  GUARD_BODY_BUDGET            bytes all bodies buffered for analysis may hold at once; beyond,
                               503 with Retry-After (default: a quarter of the container's
                               memory limit, 16-512 MiB; 64 MiB without a limit)
  GUARD_MAX_IN_FLIGHT          requests in flight at once; beyond, 503 with Retry-After
                               (default 4096)
  GUARD_LISTEN_ADDRESS         address of both listeners (default ::, IPv6 and IPv4)
  GUARD_LISTENER               uws (default) or node (HTTP/1.0, every method, larger heads)
  GUARD_MAX_HEADER_SIZE        node listener: largest request head in bytes (default 16384)
  GUARD_MAX_CONNECTIONS        node listener: client connections at once (default 10000)
  GUARD_KEEPALIVE_TIMEOUT      node listener: idle keep-alive seconds (default 10)
  GUARD_UPSTREAM_HEADERS_TIMEOUT  seconds for the service's response head (default 300)
  GUARD_UPSTREAM_BODY_TIMEOUT  seconds for the service's next body bytes (default 300)
  GUARD_UPSTREAM_CONNECT_TIMEOUT  seconds to connect to the service (default 5)
  GUARD_UPSTREAM_CONNECTIONS   connections to the service at most (default 0: as many as
                               GUARD_MAX_IN_FLIGHT)
  GUARD_MAX_RESPONSE_HEAD_SIZE largest response head from the service in bytes (default 65536)
  GUARD_RESPONSE_HOLD_MS       how long an analysed response without a length is held to be
                               decided whole before it streams (default 100)
  GUARD_SHUTDOWN_DELAY         seconds serving, not ready, after SIGTERM (default 0)
  GUARD_DRAIN_TIMEOUT          seconds in-flight requests get after that (default 10)
  GUARD_SERVICE_TOKEN_FILE     projected token for guard-service
                               (default /var/run/secrets/tokens/guard-service)
  GUARD_SERVICE_CA_FILE        CA that guard-service's certificate must chain to (default:
                               Knative's /var/lib/knative/certs/ca.crt when mounted)
  GUARD_SERVICE_CA             the same CA as PEM text
  GUARD_SERVICE_SERVER_NAME    name verified in guard-service's certificate
  GUARD_PLUGINS                plugins besides the guard: testgate (GUARD_TESTGATE_*)
  HOSTNAME                     this pod's name in syncs (Kubernetes sets it)

Every variable in full: docs/configuration.md. Exit status: 0 stopped by SIGTERM/SIGINT after
draining, 1 could not start (a port in use), 2 invalid configuration.
`;

export const SERVICE_HELP = `Usage: guard service

Runs guard-service: the /sync endpoint gates learn through, the API for people and the UI,
/healthz, /readyz and /metrics. Configured by the environment:

  GUARD_SERVICE_PORT         listening port (default 8888)
  GUARD_SERVICE_ADDRESS      listening address (default 0.0.0.0; 127.0.0.1 when
                             GUARD_SERVICE_AUTH=false: a non-loopback address is refused then,
                             unless GUARD_SERVICE_ALLOW_UNAUTHENTICATED_NETWORK=true)
  GUARD_SERVICE_AUTH         gates authenticate with a service-account token checked by
                             TokenReview (default on; only "false" turns it off, and only with
                             GUARD_STORE=file: gates then name ns, sid and pod in the query)
  GUARD_SERVICE_TLS          serve HTTPS (default on in a cluster, off elsewhere)
  GUARD_SERVICE_TLS_CERT     certificate file (default /secrets/tls.crt)
  GUARD_SERVICE_TLS_KEY      key file (default /secrets/tls.key)
  GUARD_SERVICE_LABELS       comma-separated pod label keys naming a gate's service, tried before
                             guard.security.knative.dev/service, serving.knative.dev/service
                             and app
  GUARD_STORE                kube-crd (default in a cluster), kube-configmap or file (default
                             elsewhere)
  GUARD_STORE_DIR            the file store's directory (default ./guardians)
  GUARD_SERVICE_PEOPLE_AUTH  kubernetes (TokenReview + SubjectAccessReview; default with auth on)
                             or token (a token generated at start; default with auth off)
  GUARD_SERVICE_PEOPLE_TOKEN_FILE  token mode: also write the people token to this file
  GUARD_SERVICE_MAX_BODY     largest /sync body in bytes (default 10000000)
  GUARD_SERVICE_SYNC_BURST   syncs one pod may make at once, with auth on (default 10)
  GUARD_SERVICE_SYNCS_PER_MINUTE  …and per minute after that (default 60; 0: no limit)
  GUARD_SERVICE_AUTH_FAILURE_BURST  failed authentications one client address may make at once
                             (default 20)
  GUARD_SERVICE_AUTH_FAILURES_PER_MINUTE  …and per minute after that; beyond, its new tokens get
                             429 unreviewed (default 10; 0: no limit)
  GUARD_SERVICE_MAX_TOKEN_REVIEWS  tokens reviewed with Kubernetes at once (default 32)
  GUARD_LEARN_PARAM_CAP      query, form and JSON body fields learned by name per table, 1–256
                             (default ${DEFAULT_LEARNING_CAPS.params})
  GUARD_LEARN_HEADER_CAP     header names learned by name per table, 1–256 (default ${DEFAULT_LEARNING_CAPS.headers})
  GUARD_LEARN_ROUTE_CAP      routes in a Guardian's route table, 0–1024 (default ${DEFAULT_LEARNING_CAPS.routes}; 0: none)
  GUARD_LEARN_UNKNOWN_HEADERS  alert (default) or shape: how header names not learned are judged
  GUARD_LEARN_SAMPLES        learn a pile once it holds this many samples (default 1000)
  GUARD_LEARN_NEW_PERCENT    …or more than this % of the samples learned so far (default 10)
  GUARD_LEARN_INTERVAL       …or this many seconds after the last learn (default 30)
  GUARD_PERSIST_INTERVAL     seconds between writes of learned rules to the store (default 300)
  GUARD_SERVICE_IDLE         seconds without a sync before a service's learning state is let go
                             (default 3600; 0: never)
  GUARD_SERVICE_CORES        core instances the services are spread over: shorter collection
                             pauses (default 4; 1 to 64)
  GUARD_SERVICE_LOG_LEVEL    fatal, error, warn, info (default), debug, trace or silent

Every variable in full: docs/configuration.md. Exit status: 0 stopped by SIGTERM/SIGINT with
learning flushed, 1 could not listen (port in use) or could not flush, 2 invalid configuration.
`;

export const DEMO_HELP = `Usage: guard demo [--keep]

Starts a sample shop service, guard-service (file store in a temporary directory) and a gate in
front of the shop, all on 127.0.0.1. Sends normal traffic until the shop's Guardian is learned,
switches it to blocking through guard-service's people API, then shows attacks blocked and normal
requests passing.

Options:
  --keep       keep everything running after the demo (stop with Ctrl-C)
  -h, --help   show this help
`;

export const INJECT_HELP = `Usage: guard inject [-f FILE]… [options]   (no -f, or -f -: standard input)

Prints the Kubernetes YAML with guard-gate added to every Deployment, StatefulSet, DaemonSet, Pod
(apps/v1, v1) and Knative Service (serving.knative.dev/v1); other documents pass through unchanged.
The gate takes the port clients use; the app moves to a port the gate reaches on 127.0.0.1 (its
PORT variable says which); the app's probes follow it. Injecting twice changes nothing;
--uninject restores the input exactly. What is added and why: docs/operations.md.

The app's new port stays reachable from other pods unless the app listens on 127.0.0.1 only:
--network-policy closes it with a NetworkPolicy per workload. Once a policy selects a pod, only
what some policy admits reaches it: a port served but not declared in the pod is shut out too.

Options:
  -f, --filename FILE         a manifest (one or several documents, or a List); repeatable
  --uninject                  take out what guard inject added
  -o, --out FILE              write the result to FILE (atomically) instead of standard output
  --image IMAGE               the gate's image (default guard:0.1.0)
  --service NAME              SERVICE_NAME (default: the workload's name)
  --namespace NS              a Knative Service's namespace when its manifest names none
  --port NAME|NUMBER          the port clients use, when the pod declares several (or none)
  --app-port N                the app's new port (default: the pod template's annotation
                              guard.security.knative.dev/app-port, else the first free from 8081)
  --guard-service-url URL     GUARD_SERVICE_URL (default: the gate's,
                              https://guard-service.knative-serving)
  --guard-service-ca FILE     guard-service's CA (PEM), given to the gate as GUARD_SERVICE_CA;
                              without it the gate reads the ConfigMap guard-service-ca
  --network-policy            also print a NetworkPolicy <name>-guard after each Deployment,
                              StatefulSet, DaemonSet and Pod: its pods (selector, or the Pod's
                              labels, and the gate's service label) take ingress only on the
                              gate's port, its admin port and the other ports the pod declares —
                              not the app's. Not for Knative Services (a note says why); refused
                              for a workload without labels to select by. --uninject removes the
                              policies guard inject wrote (annotation
                              guard.security.knative.dev/network-policy-for), no others
  -h, --help                  show this help

Exit status: 0 done, 1 a file could not be read or an object was refused (the reason is printed;
nothing is written), 2 usage error.
`;

export const WEBHOOK_HELP = `Usage: guard webhook

Runs guard-webhook, the mutating admission webhook: pods, workloads and Knative Services labelled
guard.security.knative.dev/inject=enabled (or in a namespace so labelled, or a Knative template
annotated qpoption.knative.dev/guard-activate: enable) get guard-gate as guard inject adds it;
and the validating one for Guardians: one that Guard could not load is refused with the reason
(POST /validate-guardian). Configured by the environment:

  GUARD_WEBHOOK_PORT          HTTPS port (default 8443)
  GUARD_WEBHOOK_TLS_CERT      certificate file (default /secrets/tls.crt); re-read when it changes
  GUARD_WEBHOOK_TLS_KEY       key file (default /secrets/tls.key)
  GUARD_WEBHOOK_GATE_IMAGE    the gate's image (default guard:0.1.0)
  GUARD_WEBHOOK_GUARD_SERVICE_URL   GUARD_SERVICE_URL given to gates (default: the gate's own)
  GUARD_WEBHOOK_GUARD_SERVICE_CA    a PEM file given to gates as GUARD_SERVICE_CA (default: none;
                              gates read the ConfigMap guard-service-ca)
  GUARD_WEBHOOK_LOG_LEVEL     pino level (default info)

Every variable in full: docs/configuration.md. Exit status: 0 stopped by SIGTERM/SIGINT, 1 could
not listen, 2 invalid configuration.
`;
