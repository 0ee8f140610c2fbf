package org.pgstrata.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the bash completion script ({@code pgstrata completion}) into a file at build time, for
 * the packages to install (/usr/share/bash-completion/completions/pgstrata).
 */
public final class CompletionScript {
    private CompletionScript() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: CompletionScript FILE");
        }
        Path out = Path.of(args[0]);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, picocli.AutoComplete.bash("pgstrata", Cli.commandLine()), StandardCharsets.UTF_8);
    }
}
