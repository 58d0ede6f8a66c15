package com.example;

/** Names the instance in every answer, so a test can tell which provider a call reached. */
public class DemoServiceImpl implements DemoService {
  private final String instance;

  public DemoServiceImpl(String instance) {
    this.instance = instance;
  }

  @Override
  public String sayHello(String name) {
    return "hello " + name + " from " + instance;
  }
}
