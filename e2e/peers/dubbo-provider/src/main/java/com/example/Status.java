package com.example;

public enum Status {
  NEW,
  PAID,
  SHIPPED
}
