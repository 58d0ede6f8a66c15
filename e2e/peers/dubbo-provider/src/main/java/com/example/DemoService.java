package com.example;

public interface DemoService {
  String sayHello(String name);
}
