package org.pgstrata.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A wait in whole seconds, at least 1, checked while the command line is read (so that a stanza's value is refused
 * naming the file, as picocli's handler does): backup's
 * --archive-timeout of 0 or less gave up on the backup's WAL at once, after the whole data
 * directory had been copied.
 */
final class WaitSeconds implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
        int s;
        try {
            s = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a number of seconds (at least 1)");
        }
        if (s < 1) {
            throw new TypeConversionException("'" + value + "' is too short: give at least 1 second");
        }
        return s;
    }
}
