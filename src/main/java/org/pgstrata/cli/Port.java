package org.pgstrata.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The check of a --port that a server is started on (restore --start, cluster start): 1 to
 * 65535, while the command line is read. PostgreSQL refuses any other value only when it starts,
 * which for a restore is after every file was written.
 */
final class Port implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
        int p;
        try {
            p = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a port (1 to 65535)");
        }
        if (p < 1 || p > 65535) {
            throw new TypeConversionException("'" + value + "' is out of range: give a port from 1 to 65535");
        }
        return p;
    }
}
