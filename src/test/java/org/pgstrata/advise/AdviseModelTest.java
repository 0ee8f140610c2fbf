package org.pgstrata.advise;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Advice;

/** The strategy model's arithmetic, on numbers small enough to check by hand. */
class AdviseModelTest {
    // 1000 bytes of data, a full of 200 (+10 of WAL), a day's change of 50 stored (400 uncompressed);
    // read at 100 B/s, write at 50 B/s: a plain restore takes 1000/100 + 1000/50 = 30 s.
    private static final StrategyModel.Inputs NO_WAL = new StrategyModel.Inputs(1000, 0, 200, 10, 50, 400, null, null, 100, 50);

    private static Advice.Strategy row(List<Advice.Strategy> rows, String name) {
        return rows.stream().filter(r -> r.strategy().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void eachStrategysWeek_isItsBackupsOverSevenDays() {
        List<Advice.Strategy> rows = StrategyModel.predict(NO_WAL);
        assertThat(rows).extracting(Advice.Strategy::strategy)
                .containsExactly("full daily", "incremental chain", "differential", "reverse delta", "base backup + WAL");
        assertThat(row(rows, "full daily").bytesPerWeek()).isEqualTo(7 * 210);
        assertThat(row(rows, "full daily").bytesPerDay()).isEqualTo(210);
        assertThat(row(rows, "incremental chain").bytesPerWeek()).isEqualTo(210 + 6 * 60);
        // Differentials of 1..6 days: 50, 100, 150, then capped at the full's 200; each with its WAL.
        assertThat(row(rows, "differential").bytesPerWeek()).isEqualTo(210 + 60 + 110 + 160 + 210 + 210 + 210);
        assertThat(row(rows, "reverse delta").bytesPerWeek()).isEqualTo(7 * 60);
    }

    @Test
    void restoreTimes_readEveryLayer_andWriteTheDataOnce() {
        List<Advice.Strategy> rows = StrategyModel.predict(NO_WAL);
        assertThat(row(rows, "full daily").restoreLatestSeconds()).isCloseTo(30, within(1e-9));
        assertThat(row(rows, "incremental chain").restoreLatestSeconds()).isCloseTo((1000 + 6 * 400) / 100.0 + 20, within(1e-9));
        // A six-day differential holds at most the whole data.
        assertThat(row(rows, "differential").restoreLatestSeconds()).isCloseTo((1000 + 1000) / 100.0 + 20, within(1e-9));
        assertThat(row(rows, "reverse delta").restoreLatestSeconds()).isCloseTo(30, within(1e-9));
        assertThat(row(rows, "reverse delta").restoreWeekOldSeconds()).isCloseTo((1000 + 7 * 400) / 100.0 + 20, within(1e-9));
    }

    @Test
    void aBackupsOwnWal_isReadAndWrittenWithTheData() {
        var withWal = new StrategyModel.Inputs(1000, 500, 200, 10, 50, 400, null, null, 100, 50);
        assertThat(row(StrategyModel.predict(withWal), "full daily").restoreLatestSeconds()).isCloseTo(1500 / 100.0 + 1500 / 50.0, within(1e-9));
    }

    @Test
    void baseBackupAndWal_isUnknownWithoutAWalRate_andCountsAWeekOfWalWithOne() {
        Advice.Strategy unknown = row(StrategyModel.predict(NO_WAL), "base backup + WAL");
        assertThat(unknown.bytesPerWeek()).isNull();
        assertThat(unknown.restoreLatestSeconds()).isNull();

        // 1 byte of WAL an hour, stored as 0.5: a week is 168 bytes of WAL, 84 stored, on a full without WAL of its own.
        var withWal = new StrategyModel.Inputs(1000, 0, 200, 0, 50, 400, 1.0, 0.5, 100, 50);
        Advice.Strategy known = row(StrategyModel.predict(withWal), "base backup + WAL");
        assertThat(known.bytesPerWeek()).isEqualTo(200 + 84);
        assertThat(known.walToReplayBytes()).isEqualTo(168);
        assertThat(known.restoreLatestSeconds()).isCloseTo(30 + 168 / 100.0, within(1e-9));
    }
}
