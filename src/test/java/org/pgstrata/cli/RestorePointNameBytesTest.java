package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;

/**
 * PostgreSQL limits a restore point's name to 63 bytes, not characters. A name of 33 'é'
 * (66 bytes) passed pgstrata's check and failed on the server as exit 19 (a server that failed to
 * start), with a hint to read the server log; as a target it was looked for in vain.
 */
class RestorePointNameBytesTest {
    @TempDir
    Path dir;

    static final String LONG_NAME = "é".repeat(33);

    @Test
    void aNameOfMoreThan63Bytes_isAUsageError_beforeAnyConnection() {
        CliRun r = CliRun.run("restore-point", "--host", "127.0.0.1", "--port", "1", LONG_NAME);
        assertThat(r.exitCode()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: invalid restore point name").contains("63 bytes");
    }

    @Test
    void aTargetNameOfMoreThan63Bytes_isAUsageError() {
        CliRun r = CliRun.run("restore", "--repo", dir.resolve("no-repo").toString(), "--to", dir.resolve("to").toString(),
                "--target-name", LONG_NAME);
        assertThat(r.exitCode()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: invalid --target-name");
    }

    @Test
    void aNameOf63Bytes_getsPastTheCheck() {
        CliRun r = CliRun.run("restore-point", "--host", "127.0.0.1", "--port", "1", "é".repeat(31) + "a");
        assertThat(r.exitCode()).isEqualTo(ErrorCode.CONNECTION.exitCode());
    }
}
