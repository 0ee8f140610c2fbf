package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** list's chain column stays narrow however long a chain grows; --json keeps the whole chain. */
class ListChainCellTest {
    private static List<String> chain(int n) {
        List<String> c = new ArrayList<>();
        c.add("20261201-000000F");
        for (int i = 1; i < n; i++) {
            c.add(String.format("20261201-%06dI", i));
        }
        return c;
    }

    @Test
    void aShortChain_isShownWhole() {
        assertThat(ListCommand.chainCell(chain(1))).isEqualTo("-");
        assertThat(ListCommand.chainCell(chain(2))).isEqualTo("20261201-000000F > 20261201-000001I");
        assertThat(ListCommand.chainCell(chain(4)))
                .isEqualTo("20261201-000000F > 20261201-000001I > 20261201-000002I > 20261201-000003I");
    }

    @Test
    void aLongChain_showsItsFull_howManyBetween_andItsLastTwo() {
        assertThat(ListCommand.chainCell(chain(5)))
                .isEqualTo("20261201-000000F > (2 more) > 20261201-000003I > 20261201-000004I");
        String month = ListCommand.chainCell(chain(31));
        assertThat(month).isEqualTo("20261201-000000F > (28 more) > 20261201-000029I > 20261201-000030I");
        assertThat(month.length()).isEqualTo(ListCommand.chainCell(chain(5)).length() + 1);
    }
}
