package org.pgstrata.api;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.Locale;

/**
 * Where recovery stops. {@link Type#IMMEDIATE} is the backup's own consistency point (what a
 * restore without a target gives); {@link Type#LATEST} replays everything the archive holds.
 *
 * @param timeline "latest", "current", or a timeline number
 * @param action   promote, pause or shutdown
 */
public record RecoveryTarget(Type type, String value, boolean inclusive, String timeline, String action) {

    public enum Type { IMMEDIATE, LATEST, TIME, LSN, XID, NAME }

    public static final RecoveryTarget IMMEDIATE = new RecoveryTarget(Type.IMMEDIATE, null, true, "current", "promote");

    public RecoveryTarget {
        if (!timeline.equals("latest") && !timeline.equals("current") && !timeline.matches("\\d+")) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-timeline '" + timeline + "'", "use latest, current or a number");
        }
        if (!action.equals("promote") && !action.equals("pause") && !action.equals("shutdown")) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-action '" + action + "'", "use promote, pause or shutdown");
        }
        if (type == Type.XID && (value == null || !value.matches("\\d+"))) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-xid '" + value + "'", "give a transaction id, e.g. 7531");
        }
        if (type == Type.NAME && (value == null || value.isEmpty() || value.length() > 63)) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-name '" + value + "'", "give the name of a restore point (1 to 63 characters)");
        }
        if (type == Type.TIME && !hasZone(value)) {
            // PostgreSQL reads such a time in the restored server's timezone setting, which pgstrata cannot know
            // for sure (postgresql.conf, the backup's, or an include), and pgstrata picks the backup by the same time:
            // refused rather than guessed, so that the point restored is the point named (invariant 8).
            throw new PgstrataException(ErrorCode.USAGE, "--target-time '" + value + "' has no UTC offset or time zone, so it could mean"
                    + " UTC, this machine's zone or the restored server's timezone setting",
                    "add one, e.g. '" + value.trim() + "+01' or '" + value.trim() + " UTC' (2026-11-24T19:20:30Z works too)");
        }
    }

    private static final DateTimeFormatter FLEXIBLE = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd[['T'][' ']HH:mm[:ss]]")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .optionalStart().appendOffset("+HH:MM", "Z").optionalEnd()
            .optionalStart().appendOffset("+HHMM", "Z").optionalEnd()
            .optionalStart().appendOffset("+HH", "Z").optionalEnd()
            .optionalStart().appendLiteral(' ').appendPattern("zzz").optionalEnd()
            .parseDefaulting(ChronoField.HOUR_OF_DAY, 0)
            .parseDefaulting(ChronoField.MINUTE_OF_HOUR, 0)
            .parseDefaulting(ChronoField.SECOND_OF_MINUTE, 0)
            .toFormatter(Locale.ROOT);

    /** Whether {@code text} is a valid time that names its offset or zone. */
    static boolean hasZone(String text) {
        parseTime(text);
        try {
            return !(FLEXIBLE.parseBest(text.trim(), OffsetDateTime::from, java.time.ZonedDateTime::from, java.time.LocalDateTime::from)
                    instanceof java.time.LocalDateTime);
        } catch (DateTimeParseException e) {
            return true; // Instant.parse's form, which always ends in Z
        }
    }

    /**
     * Accepts ISO-8601 and PostgreSQL's own format ("2026-11-24 19:20:30.123+00", "... UTC"); no zone
     * means UTC here (a recovery target without one is refused before it gets here).
     */
    public static Instant parseTime(String text) {
        if (text == null) {
            throw new PgstrataException(ErrorCode.USAGE, "missing --target-time", null);
        }
        try {
            var parsed = FLEXIBLE.parseBest(text.trim(), OffsetDateTime::from, java.time.ZonedDateTime::from, java.time.LocalDateTime::from);
            if (parsed instanceof OffsetDateTime o) {
                return o.toInstant();
            }
            if (parsed instanceof java.time.ZonedDateTime z) {
                return z.toInstant();
            }
            return ((java.time.LocalDateTime) parsed).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            try {
                return Instant.parse(text.trim());
            } catch (DateTimeParseException e2) {
                throw new PgstrataException(ErrorCode.USAGE, "invalid --target-time '" + text + "'",
                        "write a time like 2026-11-24T19:20:30Z or '2026-11-24 19:20:30.5+00'");
            }
        }
    }

    /** The target for messages: "time 2026-...", "LSN 0/3000000", "the end of the archive". */
    public String describe() {
        return switch (type) {
            case IMMEDIATE -> "the backup's consistency point";
            case LATEST -> "the end of the archived WAL";
            case TIME -> "time " + value;
            case LSN -> "LSN " + value;
            case XID -> "transaction " + value;
            case NAME -> "restore point '" + value + "'";
        };
    }
}
