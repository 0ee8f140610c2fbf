package org.pgstrata.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/** Which hint a failure gets when what it says shows another cause than the hint names. */
class CauseHintTest {

    @Test
    void outOfDescriptors_namesTheOpenFilesLimit() {
        PgstrataException p = new PgstrataException(ErrorCode.IO, "cannot open /x", "check free space",
                new java.nio.file.FileSystemException("/x: Too many open files"));
        assertThat(p.oneLine()).contains("hint: the process ran out of file descriptors: raise its open-files limit (ulimit -n")
                .doesNotContain("free space");
    }

    @Test
    void theSystemOutOfDescriptors_isNotSaidToBeTheProcessLimit() {
        String h = PgstrataException.causeHint(new IOException("Too many open files in system"), "check free space");
        assertThat(h).contains("fs.file-max").doesNotContain("ulimit");
    }

    @Test
    void theServersOwnShortage_keepsTheHint() {
        String h = PgstrataException.causeHint(new PgstrataException(ErrorCode.SERVER, "x", "y",
                new SQLException("could not open file: Too many open files")), "ask the server's administrator");
        assertThat(h).isEqualTo("ask the server's administrator");
    }

    @Test
    void aFullDiskElsewhere_keepsTheHint() {
        String h = PgstrataException.causeHint(new IOException("/data/x: No space left on device"), "free space in /data");
        assertThat(h).isEqualTo("free space in /data");
    }
}
