package org.pgstrata.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What archive_command and restore_command say when pgstrata runs installed (its launcher sets pgstrata.command). */
class SelfTest {
    @AfterEach
    void notInstalled() {
        System.clearProperty(Self.COMMAND_PROPERTY);
    }

    @Test
    void installed_commandsNameOnlyTheInstalledCommand_quotedAndPercentEscaped() {
        System.setProperty(Self.COMMAND_PROPERTY, "/usr/bin/pgstrata");
        List<String> repo = List.of("--repo", "/var/lib/pgstrata/it's 100%");
        assertThat(Self.archiveCommand(repo, "/var/lib/pgstrata/spool")).isEqualTo(
                "if [ -f /var/lib/pgstrata/spool/%f ] && [ \"$(cat /var/lib/pgstrata/spool/%f)\" = \"$(stat -c '%%i %%s %%Y' %p)\" ]; "
                        + "then rm -f /var/lib/pgstrata/spool/%f; else /usr/bin/pgstrata wal push --repo '/var/lib/pgstrata/it'\\''s 100%%' %p; fi");
        assertThat(Self.restoreCommand(repo)).isEqualTo("/usr/bin/pgstrata wal get --repo '/var/lib/pgstrata/it'\\''s 100%%' %f %p");
    }

    @Test
    void installedFromATarballInAPathWithSpaces_theCommandIsQuoted() {
        System.setProperty(Self.COMMAND_PROPERTY, "/opt/pg strata/bin/pgstrata");
        assertThat(Self.restoreCommand(List.of("--repo", "/r"))).isEqualTo("'/opt/pg strata/bin/pgstrata' wal get --repo /r %f %p");
    }

    @Test
    void fromACheckoutOrTests_theJavaCommandLineAsBefore() {
        assertThat(Self.shellCommand()).contains("/bin/java").contains("org.pgstrata.cli.Main");
    }
}
