package com.example;

/** The checked exception TypesService#fail throws, so a caller sees a custom class and its message. */
public class TypesException extends Exception {
  private static final long serialVersionUID = 1L;

  public TypesException(String message) {
    super(message);
  }
}
