package dev.perase.io;

/**
 * A user-facing error caused by bad input: a malformed file, a missing key, a wrong shape, a bad
 * config or argument. The CLI prints its message as one sentence and exits with code 2.
 */
public class BadInputException extends RuntimeException {
  public BadInputException(String message) {
    super(message);
  }

  public BadInputException(String message, Throwable cause) {
    super(message, cause);
  }
}
