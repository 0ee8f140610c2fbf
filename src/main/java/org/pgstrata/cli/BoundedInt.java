package org.pgstrata.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A whole number within bounds, checked while the command line is read, so that a stanza's value
 * is refused naming the file, as picocli's handler does. Each option's subclass gives the bounds
 * and how its refusals read.
 */
abstract class BoundedInt implements ITypeConverter<Integer> {
    private final int min;
    private final int max;
    private final String notANumber;
    private final String outOfRange;

    /** {@code notANumber} follows "'VALUE' is not "; {@code outOfRange} follows "'VALUE' ". */
    BoundedInt(int min, int max, String notANumber, String outOfRange) {
        this.min = min;
        this.max = max;
        this.notANumber = notANumber;
        this.outOfRange = outOfRange;
    }

    @Override
    public final Integer convert(String value) {
        int n;
        try {
            n = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not " + notANumber);
        }
        if (n < min || n > max) {
            throw new TypeConversionException("'" + value + "' " + outOfRange);
        }
        return n;
    }
}
