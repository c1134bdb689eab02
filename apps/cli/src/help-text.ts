import type { HelpTopic } from './args.js';

const OUTPUT_OPTIONS = `Output options:
  -v, -vv                 say more: -v connections and results, -vv connector debug lines
  --debug                 show the commands sent (secrets masked) and error stacks, on stderr
  --json                  print NDJSON events on stdout, one per line
  -h, --help              show help for a command
  --version               print the version`;

const GENERAL = `Usage: infra INVENTORY exec [OPTIONS] -- CMD [ARGS...]
       infra INVENTORY DEPLOY.ts [DEPLOY2.ts...] [-y] [--dry] [--diff] [OPTIONS]
       infra INVENTORY OPERATION key=value... | fact NAME [key=value...] | debug-inventory
       infra connectors [--json]
       infra check FILE... [--json]
       infra --help | --version

Run a command on many hosts at once through installed connectors.

INVENTORY is a comma-separated list of connection strings:
  @local                  this machine (@infra/connector-local)
  @ssh:web1, web1         a host over SSH (@infra/connector-ssh)
  @docker:alpine:3.20     a container from an image, or an existing one (@infra/connector-docker)
  @rest:ID                a host running infra-agent (@infra/connector-rest)
  @chroot:/srv/root       a chroot, here or on a host given by --data via=@ssh:web1 (@infra/connector-chroot)

Commands:
  INVENTORY exec -- CMD   run CMD on every host (infra exec --help)
  INVENTORY deploy.ts     run deploy files: plan, confirm, apply (infra deploy --help)
  connectors              list the installed connectors and their data keys
  check FILE...           type-check deploy and inventory files (needs typescript)

${OUTPUT_OPTIONS}

Exit codes: 0 every host succeeded, 1 a host failed, 2 bad usage, inventory or
connector, 130 interrupted (Ctrl-C).`;

const EXEC = `Usage: infra INVENTORY exec [OPTIONS] -- CMD [ARGS...]

Run CMD on every host of INVENTORY in parallel. Each word after -- is quoted on
its own, so the command runs exactly as typed: no shell expansion happens unless
you ask for a shell, e.g. infra @local exec -- sh -c 'echo $HOME'.
Options may stand before or after INVENTORY, anywhere before --.

Become options (pyinfra's names):
  --sudo                  run with sudo
  --sudo-user USER        the user sudo switches to (needs --sudo)
  --use-sudo-password     ask for the sudo password up front (INFRA_SUDO_PASSWORD,
                          else asked once on the terminal), shared by every host
  --su-user USER          run with su as USER
  --doas                  run with doas
  --doas-user USER        the user doas switches to (needs --doas)
  --shell-executable SH   the shell that runs the command (default sh)

Command options:
  --chdir DIR             run in DIR
  --env KEY=VALUE         set an environment variable (repeatable)
  --data KEY=VALUE        set host data for every host, e.g. --data ssh_port=2222
                          (repeatable; true/false, integers and JSON are parsed)
  --data-env KEY=VAR      host data KEY from the environment variable VAR, for
                          secrets: --data-env api_key=INFRA_AGENT_TOKEN keeps the
                          token off the command line (which ps shows to everyone)
  --parallel N            run at most N hosts at once (default: all)
  --limit GROUP|GLOB      run on a group or host-name glob only (repeatable)

${OUTPUT_OPTIONS}

Examples:
  infra @local exec -- uname -a
  infra @ssh:web1,@ssh:web2 exec --sudo --parallel 10 -- systemctl restart nginx
  infra @local exec --json -- python3 -c "print('a b')"`;

const CONNECTORS = `Usage: infra connectors [--json]

List the installed connectors: their package and version, whether they run
commands or only generate inventory, and their data keys with type, default and
description (secrets marked). Connectors are found in the packages of your
project's node_modules that declare "infra.connectors" in their package.json,
then in the CLI's own install.

${OUTPUT_OPTIONS}`;

const DEPLOY = `Usage: infra INVENTORY DEPLOY.ts [DEPLOY2.ts...] [OPTIONS]
       infra INVENTORY OPERATION key=value...     e.g. files.put src=a.conf dest=/etc/a.conf
       infra INVENTORY fact NAME [key=value...]   e.g. fact files.file path=/etc/hosts
       infra INVENTORY debug-inventory

INVENTORY is connection strings (@local,@ssh:web1) or an inventory file
(inventory.ts, .js, .json, .yaml) with hosts, groups and data; see @infra/deploy.
Deploy files are TypeScript or JavaScript, run without a build step:
  export default deploy(async ({ host, ops, facts }) => { ... })

A run connects, plans (showing what would change), asks before applying, then
applies. Without a terminal, pass -y or --dry. infra check DEPLOY.ts INVENTORY.ts
type-checks the files first, without connecting to anything.

Deploy options:
  -y, --yes               apply without asking
  --dry                   only show what would change
  --diff                  show file content changes
  --limit GROUP|GLOB      run on a group or host-name glob only (repeatable)
  --serial                one host at a time
  --parallel N            at most N hosts at once (default: all)
  --fail-percent N        stop everything once more than N% of hosts failed
  --data KEY=VALUE        host data for every host (wins over the inventory)
  --data-env KEY=VAR      host data KEY from the environment variable VAR (secrets)
  --sudo, --sudo-user, --su-user, --doas, --doas-user, --shell-executable,
  --chdir, --env          defaults for every operation (see infra exec --help)

${OUTPUT_OPTIONS}`;

export const HELP_TEXT: Readonly<Record<HelpTopic, string>> = {
  general: GENERAL,
  exec: EXEC,
  connectors: CONNECTORS,
  deploy: DEPLOY,
};
