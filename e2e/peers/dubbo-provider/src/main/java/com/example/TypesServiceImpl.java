package com.example;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class TypesServiceImpl implements TypesService {
  @Override
  public int addInt(int a, int b) {
    return a + b;
  }

  @Override
  public Integer boxedInt(Integer a) {
    return a;
  }

  @Override
  public long next(long v) {
    return v + 1;
  }

  @Override
  public Long boxedLong(Long v) {
    return v;
  }

  @Override
  public double half(double v) {
    return v / 2;
  }

  @Override
  public boolean not(boolean b) {
    return !b;
  }

  @Override
  public String concat(String a, String b) {
    return a + b;
  }

  @Override
  public BigDecimal addPrice(BigDecimal a, BigDecimal b) {
    return a.add(b);
  }

  @Override
  public BigInteger square(BigInteger a) {
    return a.multiply(a);
  }

  @Override
  public Date plusDay(Date d) {
    return new Date(d.getTime() + 24L * 3600 * 1000);
  }

  @Override
  public LocalDateTime plusHour(LocalDateTime t) {
    return t.plusHours(1);
  }

  @Override
  public Status nextStatus(Status s) {
    return s == Status.NEW ? Status.PAID : Status.SHIPPED;
  }

  @Override
  public byte[] reverse(byte[] data) {
    byte[] out = new byte[data.length];
    for (int i = 0; i < data.length; i++) out[i] = data[data.length - 1 - i];
    return out;
  }

  @Override
  public List<String> upper(List<String> words) {
    List<String> out = new ArrayList<>();
    for (String w : words) out.add(w.toUpperCase());
    return out;
  }

  @Override
  public Map<String, Object> echoMap(Map<String, Object> m) {
    return m;
  }

  @Override
  public Order echoOrder(Order o) {
    return o;
  }

  @Override
  public List<Item> echoItems(List<Item> items) {
    return items;
  }

  @Override
  public Map<String, Integer> countBySku(List<Order> orders) {
    Map<String, Integer> out = new LinkedHashMap<>();
    for (Order o : orders) {
      for (Item i : o.getItems()) out.merge(i.getSku(), i.getQuantity(), Integer::sum);
    }
    return out;
  }

  @Override
  public String nullable(String s) {
    return s;
  }

  @Override
  public String fail(String message) throws TypesException {
    throw new TypesException(message);
  }

  @Override
  public String sleep(int millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return "slept " + millis;
  }
}
