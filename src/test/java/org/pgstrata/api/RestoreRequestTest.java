package org.pgstrata.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RestoreRequestTest {

    /** A library caller that leaves the target out gets the backup's own point, as the CLI and a drill do, not a NullPointerException deep in the restore. */
    @Test
    void noRecoveryTarget_meansTheBackupsOwnPoint() {
        RestoreRequest r = new RestoreRequest("/repo", Path.of("/target"), null, false, null, null, 2, null);
        assertThat(r.recoveryTarget()).isEqualTo(RecoveryTarget.IMMEDIATE);
        assertThat(new RestoreRequest("/repo", Path.of("/target"), null, false, null, null, 2, RecoveryTarget.IMMEDIATE).recoveryTarget())
                .isSameAs(RecoveryTarget.IMMEDIATE);
    }
}
