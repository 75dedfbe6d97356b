// Environment hygiene for sandboxed children (the reference's list, made systematic): drop
// variables that carry secrets or steer the dynamic linker, keep what tools need, add markers.

/** Exact names that are always removed from an inherited environment. */
const DROPPED_NAMES = new Set([
  'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'MISTRAL_API_KEY',
  'COHERE_API_KEY', 'GROQ_API_KEY', 'DEEPSEEK_API_KEY', 'XAI_API_KEY', 'OPENROUTER_API_KEY',
  'TOGETHER_API_KEY', 'PERPLEXITY_API_KEY', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'REPLICATE_API_TOKEN',
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN',
  'GOOGLE_APPLICATION_CREDENTIALS', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH',
  'GITHUB_TOKEN', 'GH_TOKEN', 'GITLAB_TOKEN', 'NPM_TOKEN', 'NODE_AUTH_TOKEN', 'CARGO_REGISTRY_TOKEN',
  'PYPI_TOKEN', 'TWINE_PASSWORD', 'DATABASE_URL', 'PGPASSWORD', 'MYSQL_PWD', 'MONGODB_URI',
  'REDIS_PASSWORD', 'SSH_AUTH_SOCK', 'GPG_AGENT_INFO', 'VAULT_TOKEN', 'KUBECONFIG',
  'SLACK_BOT_TOKEN', 'SLACK_TOKEN', 'DISCORD_TOKEN', 'TELEGRAM_BOT_TOKEN',
]);

/**
 * Name shapes that carry secrets by convention (FOO_API_KEY, BAR_TOKEN, ..._SECRET,
 * ..._PASSWORD) and every dynamic-linker variable (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH...).
 */
const DROPPED_PATTERNS = [
  /^LD_/,
  /(^|_)(API_?KEY|TOKEN|SECRET|SECRET_KEY|ACCESS_KEY|PRIVATE_KEY|PASSWORD|PASSWD|CREDENTIALS?)$/i,
];

/** True when an inherited variable must not reach a sandboxed child. */
export function isSecretEnvName(name: string): boolean {
  return DROPPED_NAMES.has(name) || DROPPED_PATTERNS.some((p) => p.test(name));
}

/** The inherited environment with secrets removed; returns the names it removed too. */
export function sanitizeEnv(env: NodeJS.ProcessEnv): { env: Record<string, string>; removed: string[] } {
  const out: Record<string, string> = {};
  const removed: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (isSecretEnvName(name)) removed.push(name);
    else out[name] = value;
  }
  return { env: out, removed: removed.sort() };
}

/** Flattens an env object into execve's KEY=value form (later keys win, like Node). */
export function toEnvp(env: Record<string, string | undefined>): string[] {
  const envp: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    envp.push(`${name}=${value}`);
  }
  return envp;
}
