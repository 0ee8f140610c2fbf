package org.pgstrata.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.pgstrata.api.PgstrataException;

class LsnTest {
    @Test
    void parse_roundTripsPostgresText() {
        Lsn l = Lsn.parse("16/3002D50");
        assertThat(l.value()).isEqualTo((0x16L << 32) | 0x3002D50L);
        assertThat(l.toString()).isEqualTo("16/3002D50");
    }

    @Test
    void parse_badText_failsWithTheTextInTheMessage() {
        for (String bad : new String[] {"", "16", "/5", "5/", "x/1", "1/2/3", "100000000/0"}) {
            assertThatThrownBy(() -> Lsn.parse(bad)).isInstanceOf(PgstrataException.class).hasMessageContaining("'" + bad + "'");
        }
    }

    @Test
    void compare_isUnsigned() {
        assertThat(Lsn.parse("FFFFFFFF/0").compareTo(Lsn.parse("1/0"))).isPositive();
        assertThat(Lsn.parse("0/10").isBefore(Lsn.parse("0/11"))).isTrue();
    }

    @Test
    void segmentNumber_of16MiBSegments() {
        assertThat(Lsn.parse("0/4000028").segmentNumber(16 * 1024 * 1024)).isEqualTo(4);
        assertThat(Lsn.parse("1/0").segmentNumber(16 * 1024 * 1024)).isEqualTo(256);
    }

    @Test
    void walFileName_matchesPostgresNaming() {
        long seg = 16L * 1024 * 1024;
        assertThat(WalFileName.segment(1, 4, seg)).isEqualTo("000000010000000000000004");
        assertThat(WalFileName.segment(2, 256 + 3, seg)).isEqualTo("000000020000000100000003");
        assertThat(WalFileName.segmentNumber("000000020000000100000003", seg)).isEqualTo(259);
        assertThat(WalFileName.timeline("000000020000000100000003")).isEqualTo(2);
        assertThat(WalFileName.isHistory("00000002.history")).isTrue();
        assertThat(WalFileName.isSegment("00000002.history")).isFalse();
    }

    @Test
    void relationFile_parsesForksSegmentsAndTemporaryRelations() {
        assertThat(RelationFile.parse("16384").orElseThrow()).isEqualTo(new RelationFile(false, 16384, "main", 0));
        assertThat(RelationFile.parse("16384_vm.2").orElseThrow()).isEqualTo(new RelationFile(false, 16384, "vm", 2));
        assertThat(RelationFile.parse("16384_init").orElseThrow().fork()).isEqualTo("init");
        assertThat(RelationFile.parse("t3_16390").orElseThrow().temporary()).isTrue();
        assertThat(RelationFile.parse("PG_VERSION")).isEmpty();
        assertThat(RelationFile.parse("16384.1").orElseThrow().firstBlock()).isEqualTo(131072);
    }

    @Test
    void backupLabel_readsStartCheckpointAndTimeline() {
        BackupLabel l = BackupLabel.parse("""
                START WAL LOCATION: 0/4000028 (file 000000010000000000000004)
                CHECKPOINT LOCATION: 0/4000080
                BACKUP METHOD: streamed
                BACKUP FROM: primary
                START TIME: 2026-11-24 19:20:20 UTC
                LABEL: pgstrata x
                START TIMELINE: 3
                """);
        assertThat(l.startLsn()).isEqualTo(Lsn.parse("0/4000028"));
        assertThat(l.checkpointLsn()).isEqualTo(Lsn.parse("0/4000080"));
        assertThat(l.timeline()).isEqualTo(3);
    }
}
