package org.pgstrata.api;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.Locale;
import java.util.Map;

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
        // A number out of range failed later as an internal error (exit 70): timelines start at 1, and an xid is at most
        // 64 bits (an xid8 from pg_current_xact_id, as PostgreSQL's recovery_target_xid reads it).
        if (!timeline.equals("latest") && !timeline.equals("current") && !isNumberIn(timeline, 1, Integer.MAX_VALUE)) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-timeline '" + timeline + "'", "use latest, current or a timeline number (1 or more)");
        }
        if (!action.equals("promote") && !action.equals("pause") && !action.equals("shutdown")) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-action '" + action + "'", "use promote, pause or shutdown");
        }
        if (type == Type.XID && (value == null || !value.matches("\\d+") || new java.math.BigInteger(value).bitLength() > 64)) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-xid '" + value + "'", "give a transaction id (at most 64 bits), e.g. 7531");
        }
        // In bytes, as PostgreSQL limits restore point names: a longer one can never have been created
        if (type == Type.NAME && (value == null || value.isEmpty() || value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 63)) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-name '" + value + "'",
                    "give the name of a restore point (1 to 63 bytes in UTF-8)");
        }
        // PostgreSQL writes the name into the new timeline's history file at promotion, and then cannot read that file back
        // ("syntax error in history file", "Expected a numeric timeline ID"): the restored server stops instead of starting.
        if (type == Type.NAME && (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0)) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-name '" + value + "': it holds a line break, and PostgreSQL cannot end"
                    + " a recovery at such a restore point (the new timeline's history file, which quotes the name, would not read back)",
                    "restore to the point's LSN with --target-lsn (pg_create_restore_point returned it) or to a time with --target-time");
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

    private static boolean isNumberIn(String text, long min, long max) {
        if (!text.matches("\\d{1,18}")) {
            return false;
        }
        long n = Long.parseLong(text);
        return n >= min && n <= max;
    }

    private static final DateTimeFormatter FLEXIBLE = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd[['T'][' ']HH:mm[:ss]]")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .optionalStart().appendOffset("+HH:MM", "Z").optionalEnd()
            .optionalStart().appendOffset("+HHMM", "Z").optionalEnd()
            .optionalStart().appendOffset("+HH", "Z").optionalEnd()
            .parseDefaulting(ChronoField.HOUR_OF_DAY, 0)
            .parseDefaulting(ChronoField.MINUTE_OF_HOUR, 0)
            .parseDefaulting(ChronoField.SECOND_OF_MINUTE, 0)
            .toFormatter(Locale.ROOT);

    /** Whether {@code text} is a valid time that names its offset or zone. */
    static boolean hasZone(String text) {
        parseTime(text);
        if (TRAILING_ZONE.matcher(text.trim()).matches()) {
            return true;
        }
        try {
            return !(FLEXIBLE.parseBest(text.trim(), OffsetDateTime::from, java.time.LocalDateTime::from)
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
        checkDayExists(text);
        java.util.regex.Matcher zoned = TRAILING_ZONE.matcher(text.trim());
        if (zoned.matches()) {
            return parseZoned(text, zoned.group(1), zoned.group(2));
        }
        try {
            var parsed = FLEXIBLE.parseBest(text.trim(), OffsetDateTime::from, java.time.LocalDateTime::from);
            if (parsed instanceof OffsetDateTime o) {
                checkOffset(text, o.getOffset());
                return o.toInstant();
            }
            return ((java.time.LocalDateTime) parsed).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            try {
                // ISO-8601 with an offset of seconds too (+15:30:30), which Instant.parse would take without its range
                OffsetDateTime o = OffsetDateTime.parse(text.trim());
                checkOffset(text, o.getOffset());
                return o.toInstant();
            } catch (DateTimeParseException e1) {
                // Instant.parse's own forms
            }
            try {
                return Instant.parse(text.trim());
            } catch (DateTimeParseException e2) {
                throw new PgstrataException(ErrorCode.USAGE, "invalid --target-time '" + text + "'",
                        "write a time like 2026-11-24T19:20:30Z or '2026-11-24 19:20:30.5+00'");
            }
        }
    }

    /**
     * PostgreSQL's largest numeric UTC offset: 15 hours, 59 minutes and 59 seconds either way
     * (datetime.c's DecodeTimezone, MAX_TZDISP_HOUR). Java reads offsets up to 18 hours.
     */
    static final int MAX_OFFSET_SECONDS = (15 * 60 + 59) * 60 + 59;

    /**
     * Refuses an offset PostgreSQL refuses ("time zone displacement out of range"): it was read
     * here, normalized to UTC and restored to, a point the server itself would not take.
     */
    private static void checkOffset(String text, ZoneOffset offset) {
        if (Math.abs(offset.getTotalSeconds()) > MAX_OFFSET_SECONDS) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-time '" + text + "': time zone displacement out of range (UTC"
                    + offset.getId() + "; PostgreSQL takes offsets of at most 15:59:59 either way)",
                    "give the offset the time was recorded under, between -15:59 and +15:59, or write the time in UTC (...Z)");
        }
    }

    private static final java.util.regex.Pattern DATE = java.util.regex.Pattern.compile("\\s*(\\d{4,9})-(\\d{2})-(\\d{2})(?!\\d).*", java.util.regex.Pattern.DOTALL);

    /**
     * Refuses a day its month lacks, as PostgreSQL does ("date/time field value out of range").
     * Java's default (smart) reading moves 2026-02-29 or 2026-04-31 to the month's last day, so the
     * time restored to was a day or more before the time named, with exit 0. The strict reading is
     * not used for the whole time because it refuses 24:00:00, which PostgreSQL takes as the next
     * midnight.
     */
    private static void checkDayExists(String text) {
        java.util.regex.Matcher m = DATE.matcher(text);
        if (!m.matches()) {
            return;
        }
        int year = Integer.parseInt(m.group(1));
        int month = Integer.parseInt(m.group(2));
        int day = Integer.parseInt(m.group(3));
        if (month >= 1 && month <= 12 && day >= 1 && day > java.time.YearMonth.of(year, month).lengthOfMonth()) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-time '" + text + "': " + java.time.YearMonth.of(year, month)
                    + " has " + java.time.YearMonth.of(year, month).lengthOfMonth() + " days, not " + day,
                    "write a time like 2026-11-24T19:20:30Z or '2026-11-24 19:20:30.5+00'");
        }
    }

    /** A time followed by a zone word: "... UTC", "... CET", "... Europe/Berlin". */
    private static final java.util.regex.Pattern TRAILING_ZONE = java.util.regex.Pattern.compile("(.*\\d)\\s+([A-Za-z][A-Za-z0-9_/+-]*)");

    /**
     * Zone abbreviations as PostgreSQL's default set (timezone_abbreviations 'Default') reads them:
     * each is one fixed offset all year. Java reads an abbreviation as a region with daylight saving
     * (EST in July as -04, CET in July as +02) or as another place altogether (IST as India, BST
     * as UTC), which restored a point hours away from the one named. Others are refused rather
     * than guessed.
     */
    private static final Map<String, ZoneOffset> ABBREVIATIONS = Map.ofEntries(
            Map.entry("UTC", ZoneOffset.UTC), Map.entry("UT", ZoneOffset.UTC), Map.entry("GMT", ZoneOffset.UTC),
            Map.entry("Z", ZoneOffset.UTC), Map.entry("ZULU", ZoneOffset.UTC),
            Map.entry("EST", ZoneOffset.ofHours(-5)), Map.entry("EDT", ZoneOffset.ofHours(-4)),
            Map.entry("CST", ZoneOffset.ofHours(-6)), Map.entry("CDT", ZoneOffset.ofHours(-5)),
            Map.entry("MST", ZoneOffset.ofHours(-7)), Map.entry("MDT", ZoneOffset.ofHours(-6)),
            Map.entry("PST", ZoneOffset.ofHours(-8)), Map.entry("PDT", ZoneOffset.ofHours(-7)),
            Map.entry("AKST", ZoneOffset.ofHours(-9)), Map.entry("AKDT", ZoneOffset.ofHours(-8)), Map.entry("HST", ZoneOffset.ofHours(-10)),
            Map.entry("WET", ZoneOffset.UTC), Map.entry("BST", ZoneOffset.ofHours(1)),
            Map.entry("CET", ZoneOffset.ofHours(1)), Map.entry("CEST", ZoneOffset.ofHours(2)),
            Map.entry("MET", ZoneOffset.ofHours(1)), Map.entry("MEST", ZoneOffset.ofHours(2)),
            Map.entry("EET", ZoneOffset.ofHours(2)), Map.entry("EEST", ZoneOffset.ofHours(3)), Map.entry("IST", ZoneOffset.ofHours(2)),
            Map.entry("HKT", ZoneOffset.ofHours(8)), Map.entry("AWST", ZoneOffset.ofHours(8)),
            Map.entry("JST", ZoneOffset.ofHours(9)), Map.entry("KST", ZoneOffset.ofHours(9)),
            Map.entry("ACST", ZoneOffset.ofHoursMinutes(9, 30)), Map.entry("ACDT", ZoneOffset.ofHoursMinutes(10, 30)),
            Map.entry("AEST", ZoneOffset.ofHours(10)), Map.entry("AEDT", ZoneOffset.ofHours(11)),
            Map.entry("NZST", ZoneOffset.ofHours(12)), Map.entry("NZDT", ZoneOffset.ofHours(13)));

    /** {@code local} in the zone {@code zone} names: an abbreviation of PostgreSQL's default set, or a region (Europe/Berlin). */
    private static Instant parseZoned(String text, String local, String zone) {
        java.time.LocalDateTime at;
        try {
            at = FLEXIBLE.parse(local.trim(), java.time.LocalDateTime::from);
        } catch (DateTimeParseException e) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --target-time '" + text + "'",
                    "write a time like 2026-11-24T19:20:30Z or '2026-11-24 19:20:30.5+00'");
        }
        ZoneOffset fixed = ABBREVIATIONS.get(zone.toUpperCase(Locale.ROOT));
        if (fixed != null) {
            return at.toInstant(fixed);
        }
        java.time.ZoneId region = null;
        if (zone.contains("/")) {
            try {
                region = java.time.ZoneId.of(zone);
            } catch (java.time.DateTimeException e) {
                region = null;
            }
        }
        if (region == null) {
            throw new PgstrataException(ErrorCode.USAGE, "--target-time '" + text + "': time zone '" + zone
                    + "' is not one pgstrata reads as PostgreSQL does", "give a UTC offset (+01), a zone name such as Europe/Berlin,"
                    + " or an abbreviation of PostgreSQL's default set (UTC, CET, EST ...)");
        }
        // A local time that occurs twice (clocks set back) is read as PostgreSQL reads it: the later one, in standard time.
        // One that never occurs (clocks set forward) moves forward by the gap, in both.
        return java.time.ZonedDateTime.ofLocal(at, region, null).withLaterOffsetAtOverlap().toInstant();
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
