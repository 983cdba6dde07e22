// The `strata` command line: one binary, subcommands.
#include <csignal>
#include <cstring>
#include <iostream>
#include <thread>

#include "core/config.h"
#include "server/http_server.h"

namespace {

strata::server::Server* g_server = nullptr;

void OnSignal(int) {
  if (g_server) g_server->Stop();
}

void PrintUsage() {
  std::cout << "strata — a self-hosted multimodal data warehouse (Mixpeek API v0.81 compatible)\n\n"
               "usage: strata <command> [options]\n\n"
               "commands:\n"
               "  serve      run the HTTP API server on an embedded data directory\n"
               "  version    print the version\n"
               "  help       this text; `strata serve --help` lists the server's settings\n";
}

void PrintServeUsage() {
  std::cout << "usage: strata serve [options]\n\n"
               "Runs the API on one data directory (SQLite metadata + content-addressed blobs).\n"
               "Each option can also be set by the environment variable named beside it;\n"
               "the option wins.\n\n";
  for (const auto& s : strata::ServeSettings()) {
    std::cout << "  " << s.flag << std::string(26 - std::min<size_t>(25, strlen(s.flag)), ' ') << s.env << "\n"
              << "      " << s.help << "\n";
  }
}

int Serve(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      PrintServeUsage();
      return 0;
    }
  }
  strata::Config config;
  strata::Status st = strata::LoadConfig(args, &config);
  if (!st.ok()) {
    std::cerr << "strata serve: " << st.message() << "\n";
    return 2;
  }
  auto server = strata::server::Server::Open(config);
  if (!server.ok()) {
    std::cerr << "strata serve: " << server.status().message() << "\n";
    return 1;
  }
  auto port = (*server)->Bind();
  if (!port.ok()) {
    std::cerr << "strata serve: " << port.status().message() << "\n";
    return 1;
  }
  if (!(*server)->generated_admin_key().empty()) {
    std::cout << "\nA bootstrap admin API key was generated. It is shown this once:\n\n    "
              << (*server)->generated_admin_key()
              << "\n\nKeep it (export STRATA_ADMIN_KEY=... to choose your own instead).\n\n";
  }
  // Tests and scripts read this line to learn the port (with --port 0).
  std::cout << "strata listening on http://" << config.host << ":" << *port << " (data: " << config.data_dir
            << ")" << std::endl;
  g_server = server->get();
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  (*server)->Listen();
  g_server = nullptr;
  std::cout << "strata stopped" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    PrintUsage();
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "serve") return Serve(args);
  if (cmd == "version" || cmd == "--version") {
    std::cout << "strata 0.1.0\n";
    return 0;
  }
  std::cerr << "strata: unknown command '" << cmd << "'\n\n";
  PrintUsage();
  return 2;
}
