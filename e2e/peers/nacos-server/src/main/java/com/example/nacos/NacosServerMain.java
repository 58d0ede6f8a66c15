package com.example.nacos;

import com.alibaba.nacos.NacosServerBasicApplication;
import com.alibaba.nacos.NacosServerWebApplication;
import com.alibaba.nacos.core.listener.startup.NacosStartUp;
import com.alibaba.nacos.core.listener.startup.NacosStartUpManager;
import com.alibaba.nacos.sys.env.DeploymentType;
import com.alibaba.nacos.sys.env.EnvUtil;
import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Starts a Nacos 3 server without its console: the core context (no web server) first, then the server's web
 * context (HTTP API on nacos.server.main.port, gRPC on that port + 1000) as its child. The republished artifacts have
 * no bootstrap module, so this class plays its part; Nacos's start-up listeners need each phase announced first.
 * Settings: application.properties, overridable with -D or --name=value.
 */
public final class NacosServerMain {
  private NacosServerMain() {}

  public static void main(String[] args) {
    System.setProperty("nacos.standalone", System.getProperty("nacos.standalone", "true"));
    System.setProperty("nacos.deployment.type", "server");
    EnvUtil.setDeploymentType(DeploymentType.SERVER);

    NacosStartUpManager.start(NacosStartUp.CORE_START_UP_PHASE);
    ConfigurableApplicationContext core = new SpringApplicationBuilder(NacosServerBasicApplication.class)
        .web(WebApplicationType.NONE)
        .bannerMode(Banner.Mode.OFF)
        .run(args);

    NacosStartUpManager.start(NacosStartUp.WEB_START_UP_PHASE);
    new SpringApplicationBuilder(NacosServerWebApplication.class)
        .parent(core)
        .bannerMode(Banner.Mode.OFF)
        .run(args);
  }
}
