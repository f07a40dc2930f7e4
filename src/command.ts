import { ConfigError, loadConfig } from './config/load-config';
import { startGatewayProcess } from './main';

const USAGE = `usage: event-gateway --config FILE

Runs the Event Gateway with the YAML configuration in FILE. Any key can be overridden from the
environment: EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST=gw.example.com sets listeners.advertisedHost.
See docs/configuration.md.`;

function parseArgs(argv: string[]): { config?: string; help: boolean } {
  const result: { config?: string; help: boolean } = { help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') result.help = true;
    else if (arg === '--config' || arg === '-c') result.config = argv[++i];
    else if (arg.startsWith('--config=')) result.config = arg.slice('--config='.length);
    else throw new ConfigError('command line', [`unknown argument '${arg}'`]);
  }
  return result;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (!args.config) throw new ConfigError('command line', ['--config FILE is required']);
  await startGatewayProcess(loadConfig(args.config));
}

main().catch((error: Error) => {
  console.error(
    error instanceof ConfigError ? error.message : `event-gateway failed to start: ${error.message}`,
  );
  if (!(error instanceof ConfigError)) console.error(USAGE.split('\n')[0]);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
