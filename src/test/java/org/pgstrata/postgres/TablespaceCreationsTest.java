package org.pgstrata.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * CREATE TABLESPACE records found in WAL written byte by byte ({@link SyntheticWal}). Real WAL
 * from a server is read by TablespaceCreatedAfterBackupTest and its neighbours.
 */
class TablespaceCreationsTest {
    private static final int SEG = SyntheticWal.SEG;

    @Test
    void aCreationInsideTheSegment_isFound_withoutAskingForTheNextSegment() {
        SyntheticWal w = new SyntheticWal(2);
        w.filler(5000);
        Lsn at = w.creation(16400, "/srv/ts one");
        w.filler(100);
        AtomicInteger asked = new AtomicInteger();
        List<TablespaceCreations.Creation> found = TablespaceCreations.inSegment(w.segment(0), 0, SEG, null, () -> {
            asked.incrementAndGet();
            return w.segment(1);
        });
        assertThat(found).containsExactly(new TablespaceCreations.Creation(at, 16400, "/srv/ts one"));
        assertThat(asked).hasValue(0);
    }

    @Test
    void aCreationThatRunsIntoTheNextSegment_isFoundInItsOwn_withTheNextOnesHelp() {
        SyntheticWal w = new SyntheticWal(2);
        w.fillUpTo(SEG - 40); // the record starts 40 bytes before the segment ends and goes on in the next
        String location = "/srv/" + "long name ".repeat(30);
        Lsn at = w.creation(16401, location);
        w.filler(200);
        assertThat(at.value()).isLessThan(SEG);
        AtomicInteger asked = new AtomicInteger();
        List<TablespaceCreations.Creation> found = TablespaceCreations.inSegment(w.segment(0), 0, SEG, null, () -> {
            asked.incrementAndGet();
            return w.segment(1);
        });
        assertThat(found).containsExactly(new TablespaceCreations.Creation(at, 16401, location));
        assertThat(asked).hasValue(1);
        // The next segment begins with its continuation: not its own
        assertThat(TablespaceCreations.inSegment(w.segment(1), 1, SEG, null, () -> null)).isEmpty();
        // Without the next segment (not archived yet) it cannot be read
        assertThat(TablespaceCreations.inSegment(w.segment(0), 0, SEG, null, () -> null)).isEmpty();
    }

    @Test
    void anotherRecordAcrossTheSegmentsEnd_doesNotCostAFetch() {
        SyntheticWal w = new SyntheticWal(2);
        w.creation(16402, "/srv/a");
        w.fillUpTo(SEG - 48);
        w.filler(300); // runs into segment 1
        AtomicInteger asked = new AtomicInteger();
        assertThat(TablespaceCreations.inSegment(w.segment(0), 0, SEG, null, () -> {
            asked.incrementAndGet();
            return w.segment(1);
        })).extracting(TablespaceCreations.Creation::oid).containsExactly(16402L);
        assertThat(asked).hasValue(0);
    }

    @Test
    void aBound_leavesOutCreationsAfterTheRecordWhereRecoveryStops() {
        SyntheticWal w = new SyntheticWal(1);
        Lsn first = w.creation(1, "/srv/first");
        Lsn bound = w.filler(100); // recovery stops at this record (inclusive: after replaying it)
        w.creation(2, "/srv/second");
        assertThat(TablespaceCreations.inSegment(w.segment(0), 0, SEG, new TablespaceCreations.Bound(bound, false), () -> null))
                .extracting(TablespaceCreations.Creation::lsn).containsExactly(first);
        // A bound past the filler's start: the first record at or after it (the second creation) may be replayed
        Lsn justPast = new Lsn(bound.value() + 8);
        assertThat(TablespaceCreations.inSegment(w.segment(0), 0, SEG, new TablespaceCreations.Bound(justPast, false), () -> null))
                .extracting(TablespaceCreations.Creation::oid).containsExactly(1L, 2L);
        // ... unless recovery stops before that record (recovery_target_inclusive off)
        assertThat(TablespaceCreations.inSegment(w.segment(0), 0, SEG, new TablespaceCreations.Bound(justPast, true), () -> null))
                .extracting(TablespaceCreations.Creation::oid).containsExactly(1L);
        assertThat(TablespaceCreations.inSegment(w.segment(0), 0, SEG, null, () -> null)).hasSize(2);
    }

    @Test
    void aCreationCutAtTheEndOfTheSegmentBefore_isFoundFromTheNextOne_withThePreviousOnesHelp() {
        SyntheticWal w = new SyntheticWal(2);
        w.fillUpTo(SEG - 40);
        String location = "/srv/" + "cut ".repeat(20);
        Lsn at = w.creation(16403, location);
        w.filler(100);
        AtomicInteger asked = new AtomicInteger();
        assertThat(TablespaceCreations.cutAtStart(w.segment(1), 1, SEG, null, () -> {
            asked.incrementAndGet();
            return w.segment(0);
        })).containsExactly(new TablespaceCreations.Creation(at, 16403, location));
        assertThat(asked).hasValue(1);

        // The rest of another record (its data ends in two zero bytes, as no location does) costs no fetch
        SyntheticWal other = new SyntheticWal(2);
        other.fillUpTo(SEG - 48);
        other.filler(100);
        other.filler(100);
        AtomicInteger notAsked = new AtomicInteger();
        assertThat(TablespaceCreations.cutAtStart(other.segment(1), 1, SEG, null, () -> {
            notAsked.incrementAndGet();
            return other.segment(0);
        })).isEmpty();
        assertThat(notAsked).hasValue(0);
    }

    @Test
    void aDamagedCreation_endsTheWalThere() {
        SyntheticWal w = new SyntheticWal(1);
        w.filler(100);
        Lsn at = w.creation(3, "/srv/c");
        byte[] seg = w.segment(0);
        seg[(int) at.value() + 30] ^= 1; // in its location: the CRC no longer holds
        assertThat(TablespaceCreations.inSegment(seg, 0, SEG, null, () -> null)).isEmpty();
    }
}
