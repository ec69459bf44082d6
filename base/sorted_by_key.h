// A map's entries in key order, for output: a hash map (a protobuf map among
// them) iterates in an order that varies from process to process, and the
// same run's report must read the same each time.
#ifndef TALKCHECK_BASE_SORTED_BY_KEY_H_
#define TALKCHECK_BASE_SORTED_BY_KEY_H_

#include <map>

namespace talkcheck {

template <typename Map>
std::map<typename Map::key_type, typename Map::mapped_type> SortedByKey(
    const Map& map) {
  return {map.begin(), map.end()};
}

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_SORTED_BY_KEY_H_
