package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;

/**
 * compare's --batch-size 0 initialised and started a cluster, then stopped with 'internal error:
 * java.lang.IllegalArgumentException ... (please report it)', exit 70; --rows -5 ran and printed
 * '0 books loaded', exit 0, as if the value were sound. Both are refused as usage errors (exit 2)
 * before anything starts, as demo populate refuses them and compare refuses --cycles 0.
 */
class CompareOddSizesTest extends PgTest {
    private static void refused(CliRun r, String option) {
        List<String> errors = r.err().lines().filter(l -> l.startsWith("pgstrata: error:")).toList();
        assertThat(errors).as(r.err()).singleElement().asString().contains(option);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).as("nothing started").doesNotContain("initialising");
    }

    @Test
    void aBatchSizeOfZero_isAUsageError() {
        refused(CliRun.run("compare", "--rows", "100", "--cycles", "1", "--strategies", "full", "--batch-size", "0",
                "--work-dir", dir.resolve("w1").toString()), "--batch-size");
    }

    @Test
    void aNegativeRowCount_isAUsageError() {
        refused(CliRun.run("compare", "--rows", "-5", "--cycles", "1", "--strategies", "full",
                "--work-dir", dir.resolve("w2").toString()), "--rows");
    }
}
