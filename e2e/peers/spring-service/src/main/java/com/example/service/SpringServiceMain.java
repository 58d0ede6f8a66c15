package com.example.service;

import jakarta.servlet.http.HttpServletRequest;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * A Spring Cloud HTTP service for discovery tests. It answers who it is, so a test can tell which instance a proxied
 * request reached, and registers itself in Eureka or ZooKeeper (see application*.properties).
 */
@SpringBootApplication
@RestController
public class SpringServiceMain {
  @Value("${spring.application.name}")
  private String service;

  @Value("${peer.instance-id}")
  private String instance;

  @Value("${server.port}")
  private int port;

  public static void main(String[] args) {
    SpringApplication.run(SpringServiceMain.class, args);
  }

  @GetMapping("/hello")
  public Map<String, Object> hello() {
    return identity();
  }

  @GetMapping("/**")
  public Map<String, Object> any(HttpServletRequest request) {
    Map<String, Object> body = identity();
    body.put("path", request.getRequestURI());
    return body;
  }

  private Map<String, Object> identity() {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("service", service);
    body.put("instance", instance);
    body.put("port", port);
    return body;
  }
}
