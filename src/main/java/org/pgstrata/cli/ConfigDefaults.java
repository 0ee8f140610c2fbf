package org.pgstrata.cli;

import java.util.Map;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Option defaults from the configuration file, below the environment: an option not given on
 * the command line takes the stanza's value, else [global]'s, unless the environment variable
 * that the code reads for it (PGPORT for --port, PGSTRATA_REPO for --repo ...) is set: then null,
 * and the code's own fallback reads the variable. PGDATA is the one such variable that no code
 * reads after parsing, so it is answered here.
 */
final class ConfigDefaults implements IDefaultValueProvider {
    private final ConfigFile file;
    private final Map<String, String> env;

    ConfigDefaults(ConfigFile file, Map<String, String> env) {
        this.file = file;
        this.env = env;
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec o) || !o.longestName().startsWith("--")) {
            return null;
        }
        String key = o.longestName().substring(2);
        if (!ConfigFile.KEYS.containsKey(key) || ConfigFile.SECRETS.contains(key)) {
            return null;
        }
        if (key.equals("repo") && o.command() != null && o.command().userObject() instanceof CompareCommand) {
            // compare's --repo is a scratch place for its throwaway strategies' repositories, not the backup repository the file
            // names: as a default it put them into the production repository (PGSTRATA_REPO never did).
            return null;
        }
        String variable = ConfigFile.KEYS.get(key);
        String fromEnv = variable == null ? null : env.get(variable);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return variable.equals("PGDATA") ? fromEnv : null;
        }
        return file.value(key);
    }
}
