package org.pgstrata.compare;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The report's charts: axes in 1-2-5 steps, byte axes in whole units, names wrapped under their bars. */
class CompareReportAxesTest {
    @Test
    void stepsAreOneTwoOrFiveTimesAPowerOfTen() {
        assertThat(CompareReport.niceStep(0.26)).isEqualTo(0.5);
        assertThat(CompareReport.niceStep(0.09)).isEqualTo(0.1);
        assertThat(CompareReport.niceStep(1.2)).isEqualTo(2.0);
        assertThat(CompareReport.niceStep(3)).isEqualTo(5.0);
        assertThat(CompareReport.niceStep(7)).isEqualTo(10.0);
        assertThat(CompareReport.niceStep(20)).isEqualTo(20.0);
    }

    @Test
    void aByteAxis_stepsInWholeMebibytes_notOddFractions() {
        // The 37.6/28.2/18.8 MiB ticks: 37.6 MiB at the top now gives steps of 10 MiB up to 40 MiB.
        double mib = 1024 * 1024;
        double[] axis = CompareReport.niceAxis(34.2 * mib, true);
        assertThat(axis[0]).isEqualTo(10 * mib);
        assertThat(axis[1]).isEqualTo(40 * mib);
        double[] seconds = CompareReport.niceAxis(1.37, false);
        assertThat(seconds[0]).isEqualTo(0.5);
        assertThat(seconds[1]).isEqualTo(1.5);
    }

    @Test
    void longNames_wrapAtSpaces() {
        assertThat(CompareReport.wrap("base backup + WAL (point in time)", 12)).containsExactly("base backup", "+ WAL (point", "in time)");
        assertThat(CompareReport.wrap("incremental", 6)).containsExactly("incremental");
        assertThat(CompareReport.wrap("full", 12)).containsExactly("full");
    }
}
