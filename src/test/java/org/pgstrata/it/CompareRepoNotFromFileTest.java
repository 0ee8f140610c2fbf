package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;

/**
 * compare's --repo is where its throwaway strategies put their repositories. The configuration
 * file's repo (the backup repository, in /etc/pgstrata/pgstrata.conf or PGSTRATA_CONFIG) became
 * its default: 'pgstrata compare', the quick start, wrote compare-TIME into the production
 * repository (kept there with --keep), although PGSTRATA_REPO never had that effect.
 */
class CompareRepoNotFromFileTest extends PgTest {
    @Test
    void compare_doesNotPutItsRepositoriesIntoTheFilesRepository() throws Exception {
        Path prod = Files.createDirectories(dir.resolve("prod repo"));
        Files.writeString(prod.resolve("marker"), "production");
        Path conf = dir.resolve("pgstrata.conf");
        Files.writeString(conf, "[global]\nrepo = \"" + prod + "\"\n");
        Path work = dir.resolve("work");
        CliRun r = CliRun.run("--config", conf.toString(), "compare", "-q", "--rows", "200", "--cycles", "1", "--strategies", "full", "--keep",
                "--work-dir", work.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        try (var listed = Files.list(prod)) {
            assertThat(listed.map(p -> p.getFileName().toString()).toList()).containsExactly("marker");
        }
        try (var listed = Files.list(work)) {
            assertThat(listed.map(p -> p.getFileName().toString()).toList()).as("the repositories stay in the work directory")
                    .anyMatch(n -> n.startsWith("repo-"));
        }
    }
}
