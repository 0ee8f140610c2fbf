package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutputTest {
    @Test
    void plainNames_areShownAsTheyAre() {
        assertThat(Output.name("shop")).isEqualTo("shop");
        assertThat(Output.name("Bücher $(id) `x` 'q' space")).isEqualTo("Bücher $(id) `x` 'q' space");
        assertThat(Output.line("public.\"Odd\": no key")).isEqualTo("public.\"Odd\": no key");
    }

    @Test
    void namesThatCouldMisleadTheReader_areQuotedAndEscaped() {
        assertThat(Output.name("a\nb")).isEqualTo("\"a\\nb\"");
        assertThat(Output.name("x\u001b[2Jy")).isEqualTo("\"x\\u001b[2Jy\"");
        assertThat(Output.name("invoice\u202Efdp.exe")).isEqualTo("\"invoice\\u202efdp.exe\"");
        assertThat(Output.name("say \"hi\"\\")).isEqualTo("\"say \\\"hi\\\"\\\\\"");
        assertThat(Output.line("public.\"t\nx\": no key")).isEqualTo("public.\"t\\nx\": no key");
    }

    @Test
    void aCellWithALineBreak_staysInItsRow() {
        StringWriter s = new StringWriter();
        Output.table(new PrintWriter(s), List.of("id", "type"), List.of(List.of("1", "logical-full (a\nb)"), List.of("2", "full")));
        assertThat(s.toString().lines()).containsExactly("id  type" + " ".repeat(15), "--  " + "-".repeat(19), "1   logical-full (a\\nb)", "2   full" + " ".repeat(15));
    }
}
