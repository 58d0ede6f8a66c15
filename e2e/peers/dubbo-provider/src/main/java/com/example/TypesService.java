package com.example;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDateTime;
import java.util.Date;
import java.util.List;
import java.util.Map;

/** Echo-style methods over the Java types an HTTP/JSON caller has to reach: one method per type, plus failures. */
public interface TypesService {
  int addInt(int a, int b);

  Integer boxedInt(Integer a);

  /** v + 1; tests pass values beyond 2^53. */
  long next(long v);

  Long boxedLong(Long v);

  double half(double v);

  boolean not(boolean b);

  String concat(String a, String b);

  BigDecimal addPrice(BigDecimal a, BigDecimal b);

  BigInteger square(BigInteger a);

  /** d + 1 day. */
  Date plusDay(Date d);

  /** t + 1 hour. */
  LocalDateTime plusHour(LocalDateTime t);

  /** The status after s (NEW -> PAID -> SHIPPED -> SHIPPED). */
  Status nextStatus(Status s);

  /** data reversed. */
  byte[] reverse(byte[] data);

  /** Each word upper-cased. */
  List<String> upper(List<String> words);

  Map<String, Object> echoMap(Map<String, Object> m);

  Order echoOrder(Order o);

  List<Item> echoItems(List<Item> items);

  /** Sums the quantities per sku over every order. */
  Map<String, Integer> countBySku(List<Order> orders);

  /** Returns s (null stays null). */
  String nullable(String s);

  /** Always throws TypesException with this message. */
  String fail(String message) throws TypesException;

  /** Sleeps, then returns "slept <millis>". */
  String sleep(int millis);
}
