import { KINDS, kindPlural } from '@portico/config';

export const MAIN_HELP = `portico: a gateway for microservices, AI agents and LLMs

Usage: portico <command> [flags]

Run the gateway:
  standalone    every service in one process (embedded config bus unless --nats)
  front-proxy   the data plane alone, reading config from NATS
  discovery-syncer
                registries (Nacos, ZooKeeper, Consul, Eureka, DNS, static) -> endpoint sets in NATS
  transcoder    HTTP/JSON -> gRPC and Dubbo in its own process, behind a front proxy started with --transcoder

Manage config:
  validate      check config files locally (needs no server)
  apply         validate, then write config files to a gateway or to NATS
  get           list or show resources
  delete        remove a resource
  schema        print the JSON Schema of config documents

Flags:
  -h, --help     help for portico or for a command (portico <command> --help)
  -v, --version  print the version

Environment: PORTICO_NATS_URL, PORTICO_CONFIG (flags win).`;

const REMOTE = `  --server URL     admin API of a running gateway (default http://127.0.0.1:9901)
  --nats URL       write to / read from NATS directly instead (env PORTICO_NATS_URL)`;

export const COMMAND_HELP: Record<string, string> = {
  validate: `Usage: portico validate -f FILE [-f FILE...]

Checks every document of every file (a directory means its *.yaml, *.yml and *.json files) and prints
each error as  <file>#<doc> (<Kind>/<name>) <field.path>: <reason>.  Exits 1 on any error.

Flags:
  -f, --file FILE  a config file or directory (repeatable)`,
  apply: `Usage: portico apply -f FILE [-f FILE...] [--server URL | --nats URL]

Validates everything locally first (nothing is written if any document is wrong), then writes each
resource and prints  <kind>/<name> created|configured|unchanged.

Flags:
  -f, --file FILE  a config file or directory (repeatable)
${REMOTE}`,
  get: `Usage: portico get <kind> [name] [-o table|yaml|json] [--server URL | --nats URL]

Lists resources of a kind or shows one. YAML output can be applied again.
Kinds: ${KINDS.map(kindPlural).join(', ')}.

Flags:
  -o, --output FORMAT  table (default), yaml or json
${REMOTE}`,
  delete: `Usage: portico delete <kind> <name> [--server URL | --nats URL]

Flags:
${REMOTE}`,
  schema: `Usage: portico schema

Prints the JSON Schema (draft 2020-12) of a Portico config document, for editors.`,
  standalone: `Usage: portico standalone [--config FILE] [--proxy-port N] [--proxy-host ADDR] [--admin-port M]
                          [--tls-port P] [--nats URL] [--log-level LEVEL] [--workers N]

Runs the discovery syncer, the front proxy and the admin API in one process. Config lives in an
embedded in-memory bus (or in NATS with --nats); --config FILE is applied into it at start.

Flags:
  --config FILE      config to apply at start (env PORTICO_CONFIG)
  --proxy-port N     proxy HTTP port (default 8080)
  --proxy-host ADDR  proxy address for HTTP and HTTPS (default 0.0.0.0, every interface)
  --admin-port M     admin API port (default 9901)
  --admin-host H     admin API address (default 127.0.0.1)
  --tls-port P       proxy HTTPS port, certificates from Certificate resources (default: off)
  --nats URL         use NATS instead of the embedded bus (env PORTICO_NATS_URL)
  --log-level LEVEL  trace, debug, info, warn, error, fatal or silent (default info)
  --workers N        run the proxy in N worker processes sharing the ports (SO_REUSEPORT); "auto" = one per
                     core (default 1: in this process). The syncer and the admin API stay in the main process
  --trusted-proxies LIST    proxies whose X-Forwarded-For is believed: IPs or CIDRs, comma-separated (default none)
  --proxy-option NAME=VALUE an edge setting, repeatable: timeouts, HTTP/2 limits, body and head sizes, path policy
                            (names and defaults: README "Edge defaults")
  --admin-allowed-host NAME another Host the admin API answers to (repeatable), e.g. its DNS name`,
  'front-proxy': `Usage: portico front-proxy --nats URL [--proxy-port N] [--proxy-host ADDR] [--admin-port M]
                           [--tls-port P] [--log-level LEVEL] [--workers N] [--transcoder HOST:PORT]

Runs the data plane alone: reads config from NATS, serves traffic, and answers /metrics, /healthz and
/readyz (and the config API) on the admin port.

Flags:
  --nats URL         NATS server (env PORTICO_NATS_URL; required)
  --proxy-port N     proxy HTTP port (default 8080)
  --proxy-host ADDR  proxy address (default 0.0.0.0, every interface)
  --admin-port M     admin API port (default 9901)
  --admin-host H     admin API address (default 127.0.0.1)
  --tls-port P       proxy HTTPS port (default: off)
  --log-level LEVEL  log level (default info)
  --workers N        run the proxy in N worker processes sharing the ports (default 1: in this process)
  --trusted-proxies LIST    proxies whose X-Forwarded-For is believed: IPs or CIDRs, comma-separated (default none)
  --proxy-option NAME=VALUE an edge setting, repeatable: timeouts, HTTP/2 limits, body and head sizes, path policy
                            (names and defaults: README "Edge defaults")
  --admin-allowed-host NAME another Host the admin API answers to (repeatable), e.g. its DNS name
  --transcoder HOST:PORT    send requests of Grpc and Dubbo backendRefs to \`portico transcoder\` there (default: in-process)`,
  transcoder: `Usage: portico transcoder --nats URL [--proxy-port N] [--proxy-host ADDR] [--admin-port M]
                          [--log-level LEVEL]

Transcodes HTTP/JSON to gRPC and Dubbo in a process of its own, for teams that deploy it apart from the front proxy:
reads the same config from NATS and serves what a front proxy started with --transcoder HOST:PORT sends it
(requests of backendRefs of kinds Grpc and Dubbo, Host and path as the client sent them). Policies run at the front
proxy, not here.

Flags:
  --nats URL         NATS server (env PORTICO_NATS_URL; required)
  --proxy-port N     the transcoder's HTTP port (default 8081)
  --proxy-host ADDR  its address (default 127.0.0.1)
  --admin-port M     admin API port (default 9903)
  --admin-host H     admin API address (default 127.0.0.1)
  --log-level LEVEL  log level (default info)`,
  'discovery-syncer': `Usage: portico discovery-syncer --nats URL [--admin-port M] [--log-level LEVEL]

Watches the Registry resources in NATS and keeps one EndpointSet per discovered service there
(Nacos, ZooKeeper, Consul, Eureka, DNS, static). Answers /metrics, /healthz and the config API on the
admin port. \`portico standalone\` runs it in-process. It runs no proxy, so it takes no --workers.

Flags:
  --nats URL         NATS server (env PORTICO_NATS_URL; required)
  --admin-port M     admin API port (default 9902)
  --admin-host H     admin API address (default 127.0.0.1)
  --log-level LEVEL  log level (default info)`,
};
