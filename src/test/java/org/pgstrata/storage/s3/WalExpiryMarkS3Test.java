package org.pgstrata.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.pgstrata.manifest.WalExpiry;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.storage.CorruptObjectException;

/**
 * The mark expire leaves before it removes archived WAL, on an S3 repository (s3proxy on
 * loopback): it reads back as written, covers exactly the segments (and .partial files) of every
 * timeline wholly before it, only moves forward, and a damaged one is corruption to wal get, never "no mark", and
 * replaced by the next expire.
 */
class WalExpiryMarkS3Test {
    private static final long SEGMENT = 16L * 1024 * 1024;

    @Test
    void theMark_roundTrips_coversWhatExpireRemoved_onlyMovesForward_andADamagedOneIsCorrupt() throws Exception {
        try (S3Server server = S3Server.inMemory()) {
            server.createBucket("mark");
            try (S3Storage s = new S3Storage(S3Location.parse(server.location("mark", "cluster-a")))) {
                assertThat(WalExpiry.read(s)).isEmpty();

                WalExpiry.advance(s, Lsn.parse("0/6000028"), SEGMENT, "20261205-020250F");
                WalExpiry.Mark mark = WalExpiry.read(s).orElseThrow();
                assertThat(mark).isEqualTo(new WalExpiry.Mark(Lsn.parse("0/6000028"), SEGMENT, "20261205-020250F"));
                assertThat(mark.covers("000000010000000000000005")).isTrue();
                assertThat(mark.covers("000000020000000000000005.partial")).isTrue();
                assertThat(mark.covers("000000010000000000000006")).as("the segment the oldest kept backup starts in").isFalse();
                assertThat(mark.covers("00000002.history")).isFalse();

                WalExpiry.advance(s, Lsn.parse("0/3000028"), SEGMENT, "20261201-000000F");
                assertThat(WalExpiry.read(s)).hasValue(mark);

                byte[] sealed = s.getBytes(WalExpiry.KEY);
                String text = new String(sealed, StandardCharsets.UTF_8).replace("0/6000028", "0/1000028");
                s.putBytes(WalExpiry.KEY, text.getBytes(StandardCharsets.UTF_8));
                assertThatThrownBy(() -> WalExpiry.read(s)).isInstanceOf(CorruptObjectException.class);
                // The next expire replaces a damaged mark (its own is at or past what that one said) instead of failing.
                WalExpiry.advance(s, Lsn.parse("0/7000028"), SEGMENT, "20261206-000000F_2");
                assertThat(WalExpiry.read(s)).hasValue(new WalExpiry.Mark(Lsn.parse("0/7000028"), SEGMENT, "20261206-000000F_2"));
            }
        }
    }
}
