package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.RecoveryTarget;

/**
 * --jobs is checked the same way by every command that has it, before anything runs; and a
 * --target-time without an offset is refused instead of silently read as UTC.
 */
class JobsAndTargetTimeInputTest {
    @TempDir
    Path dir;

    @Test
    void jobsOutOfRange_isAUsageErrorInEveryCommand() {
        String repo = dir.resolve("no-repo").toString();
        String[][] commands = {
            {"restore", "--repo", repo, "--to", dir.resolve("to").toString()},
            {"restore", "--logical", "--repo", repo, "--to-db", "x"},
            {"backup", "--repo", repo, "--pgdata", dir.toString()},
            {"verify", "--repo", repo},
            {"advise", "--repo", repo, "--pgdata", dir.toString()},
        };
        for (String[] command : commands) {
            for (String jobs : new String[] {"0", "-5", "100000", "two"}) {
                String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(command), java.util.stream.Stream.of("--jobs", jobs))
                        .toArray(String[]::new);
                CliRun r = CliRun.run(args);
                assertThat(r.exitCode()).as("exit of %s", String.join(" ", args)).isEqualTo(ErrorCode.USAGE.exitCode());
                assertThat(r.errLines()).as("stderr of %s", String.join(" ", args)).hasSize(1);
                assertThat(r.errLines().get(0)).startsWith("pgstrata: error: ").contains("--jobs").contains("1 to 256");
            }
        }
        // The bounds themselves are accepted: the command gets past parsing and fails on the missing repository.
        for (String jobs : new String[] {"1", "256"}) {
            CliRun r = CliRun.run("verify", "--repo", repo, "--jobs", jobs);
            assertThat(r.exitCode()).isNotEqualTo(ErrorCode.USAGE.exitCode());
        }
    }

    @Test
    void targetTimeWithoutOffset_isRefusedWithAHint() {
        for (String time : new String[] {"2026-11-24 19:20:30", "2026-11-24T19:20:30.5", "2026-11-24"}) {
            CliRun r = CliRun.run("restore", "--repo", dir.resolve("no-repo").toString(), "--to", dir.resolve("to").toString(), "--target-time", time);
            assertThat(r.exitCode()).as("exit for %s", time).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(r.errLines()).hasSize(1);
            assertThat(r.errLines().get(0)).startsWith("pgstrata: error: --target-time '" + time + "' has no UTC offset or time zone")
                    .contains("hint: add one");
        }
        // With an offset or a zone, each form names the same instant.
        Instant at = Instant.parse("2026-11-24T18:20:30Z");
        for (String time : new String[] {"2026-11-24T18:20:30Z", "2026-11-24 19:20:30+01", "2026-11-24 19:20:30+01:00", "2026-11-24 18:20:30 UTC",
            "2026-11-24 19:20:30 CET"}) {
            RecoveryTarget t = new RecoveryTarget(RecoveryTarget.Type.TIME, time, true, "latest", "promote");
            assertThat(RecoveryTarget.parseTime(t.value())).as(time).isEqualTo(at);
        }
    }
    @Test
    void targetTimeOnADayItsMonthLacks_isRefusedAsPostgresRefusesIt() {
        // Read as the month's last day, each restored to a point a day or more before the one named, with exit 0
        for (String time : new String[] {"2026-02-29 12:00:00+00", "2026-02-30T12:00:00Z", "2026-04-31 08:00:00 UTC", "2026-11-31 01:00 Europe/Berlin",
            "2028-02-30 00:00:00+01"}) {
            CliRun r = CliRun.run("restore", "--repo", dir.resolve("no-repo").toString(), "--to", dir.resolve("to").toString(), "--target-time", time);
            assertThat(r.exitCode()).as("exit for %s", time).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(r.errLines()).as("stderr for %s", time).hasSize(1);
            assertThat(r.errLines().get(0)).startsWith("pgstrata: error: invalid --target-time '" + time + "': ").contains(" days, not ");
        }
        // The last day of each month, a leap day and 24:00:00 (the next midnight, as PostgreSQL reads it) are times
        assertThat(RecoveryTarget.parseTime("2028-02-29 12:00:00+00")).isEqualTo(Instant.parse("2028-02-29T12:00:00Z"));
        assertThat(RecoveryTarget.parseTime("2026-04-30T12:00:00Z")).isEqualTo(Instant.parse("2026-04-30T12:00:00Z"));
        assertThat(RecoveryTarget.parseTime("2026-11-30 24:00:00+00")).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
    }

    @Test
    void targetTimeOffsetPastPostgresLimit_isRefusedAsPostgresRefusesIt() {
        // PostgreSQL takes a numeric offset of at most 15 hours 59 minutes (datetime.c, MAX_TZDISP_HOUR): '+18' was read
        // here and restored to (normalized to UTC) although the server says "time zone displacement out of range"
        for (String time : new String[] {"2026-01-01 00:00:00+18", "2026-01-01 00:00:00+16", "2026-01-01 00:00:00+16:00", "2026-01-01 00:00:00-16:00",
            "2026-01-01 00:00:00+1600", "2026-01-01T00:00:00+17:30", "2026-01-01T00:00:00+16:00:01"}) {
            CliRun r = CliRun.run("restore", "--repo", dir.resolve("no-repo").toString(), "--to", dir.resolve("to").toString(), "--target-time", time);
            assertThat(r.exitCode()).as("exit for %s", time).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(r.errLines()).as("stderr for %s", time).hasSize(1);
            assertThat(r.errLines().get(0)).startsWith("pgstrata: error: invalid --target-time '" + time + "': ")
                    .contains("time zone displacement out of range");
        }
        // The limit itself is a time, as PostgreSQL reads it
        assertThat(RecoveryTarget.parseTime("2026-01-01 15:59:00+15:59")).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
        assertThat(RecoveryTarget.parseTime("2026-01-01 00:00:00-1559")).isEqualTo(Instant.parse("2026-01-01T15:59:00Z"));
        assertThat(RecoveryTarget.parseTime("2026-01-01 15:00:00+15")).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
        assertThat(RecoveryTarget.parseTime("2026-01-01T15:59:59+15:59:59")).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
    }
}
