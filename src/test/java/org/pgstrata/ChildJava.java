package org.pgstrata;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.Self;

/**
 * The start of a command line that runs a JVM of its own from a test: this JVM's java, with the
 * native libraries loaded from pgstrata's cache, as the launcher and archive_command load them.
 * A child that a test kills (kill -9, a halt, running out of memory) then leaves nothing in /tmp.
 */
public final class ChildJava {
    private ChildJava() {
    }

    /** A new, mutable list: the java binary and the native library options. */
    public static List<String> command() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Self.nativeLibraryOptions());
        return cmd;
    }
}
