package com.example.eureka;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cloud.netflix.eureka.server.EnableEurekaServer;

/** A standalone Eureka server for tests. Every knob lives in application.properties; the port comes from --server.port. */
@SpringBootApplication
@EnableEurekaServer
public class EurekaServerMain {
  public static void main(String[] args) {
    SpringApplication.run(EurekaServerMain.class, args);
  }
}
