// synod-dump: prints a stopped peer's data directory (tools/dump.h).
//
//   synod-dump /var/lib/app/synod                 # the summary
//   synod-dump /var/lib/app/synod log --from 0x3:1
//   synod-dump /var/lib/app/synod tree /services --data

#include <iostream>
#include <string>
#include <vector>

#include "tools/dump.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << synod::tools::kDumpUsage;
      return 0;
    }
  }
  absl::StatusOr<synod::tools::DumpRequest> request =
      synod::tools::ParseDumpArgs(args);
  if (!request.ok()) {
    std::cerr << "synod-dump: " << request.status().message() << "\n"
              << synod::tools::kDumpUsage;
    return 2;
  }
  const absl::Status status =
      synod::tools::Dump(*request, &std::cout, &std::cerr);
  if (!status.ok()) {
    std::cout.flush();
    std::cerr << "synod-dump: " << status.message() << std::endl;
    return 1;
  }
  return 0;
}
