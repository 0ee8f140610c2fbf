package org.pgstrata.cli;

import java.io.File;
import java.io.IOException;

/**
 * Writes the command reference at build time, from the same picocli model as --help: one
 * AsciiDoc man page per command (picocli-codegen's ManPageGenerator), which the build then turns
 * into man pages (Asciidoctor's manpage backend) for the packages to install.
 */
public final class ManPages {
    private ManPages() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: ManPages DIR");
        }
        File out = new File(args[0]);
        if (!out.isDirectory() && !out.mkdirs()) {
            throw new IOException("cannot make " + out);
        }
        int rc = picocli.codegen.docgen.manpage.ManPageGenerator.generateManPage(out, null, new boolean[0], true,
                Cli.commandLine().getCommandSpec());
        if (rc != 0) {
            throw new IOException("the man page generator failed (" + rc + ")");
        }
    }
}
